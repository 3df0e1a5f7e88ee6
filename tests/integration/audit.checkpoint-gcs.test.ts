import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ChainAnchor } from '../../shared/audit/anchor.js';
import { checkpointSigner, generateCheckpointKey } from '../../shared/audit/checkpoint.js';
import { GcsCheckpointSink } from '../../shared/audit/checkpoint-sink.js';
import { LocalFileAuditLog } from '../../shared/audit/local-file.js';
import type { AuditInput } from '../../shared/audit/model.js';
import { run } from '../../cli/main.js';
import { ManualClock } from '../../shared/platform/clock.js';
import { Logger } from '../../shared/platform/logger.js';
import { startGcsStandIn, type GcsStandIn } from './gcs-standin.js';

/**
 * The production checkpoint sink through the real @google-cloud/storage client against the
 * stand-in: objects `<prefix>/<chain>/<seq>.json`, never overwritten (ifGenerationMatch=0), read
 * back by `tsi audit verify --checkpoints gs://…`.
 */
const clock = new ManualClock(new Date('2026-03-01T10:00:00Z'));
const quiet = new Logger({}, () => undefined, 'ERROR');
const input = (action: string): AuditInput => ({ actor: 'svc@example.com', roles: [], action, resource: null, outcome: 'allowed', reason: null, request_id: null, trace: null, source_ip: null });

let gcs: GcsStandIn;
let dir: string;
beforeAll(async () => {
  gcs = await startGcsStandIn();
});
afterAll(() => gcs.close());
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsi-audit-gcs-'));
  gcs.objects.clear();
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

it('stores each checkpoint once under <prefix>/<chain>/<seq>.json and refuses to replace it', async () => {
  const sink = new GcsCheckpointSink({ bucket: 'tsi-audit-anchors', prefix: 'prod/audit-checkpoints', projectId: 'tsi-prod', apiEndpoint: gcs.endpoint });
  const signer = checkpointSigner(generateCheckpointKey());
  const cp = signer.sign({ chain: 'api/chain_01jdq3v8m7x5k2n9p4r6t8w0yz', seq: 41, count: 42, head_hash: 'a'.repeat(64), time: '2026-03-01T10:00:00.000Z' });
  await sink.put(cp);
  await sink.put(cp); // a retry of the same write is fine
  expect([...gcs.live().keys()]).toEqual(['tsi-audit-anchors/prod/audit-checkpoints/api/chain_01jdq3v8m7x5k2n9p4r6t8w0yz/000000000041.json']);
  expect(gcs.requests.some((r) => r.includes('ifGenerationMatch=0'))).toBe(true);
  await expect(sink.put({ ...cp, time: '2026-03-01T11:00:00.000Z' })).rejects.toThrow(/a different checkpoint already exists/);
  const listed = await sink.list('api/chain_01jdq3v8m7x5k2n9p4r6t8w0yz');
  expect(listed).toEqual([{ where: 'gs://tsi-audit-anchors/prod/audit-checkpoints/api/chain_01jdq3v8m7x5k2n9p4r6t8w0yz/000000000041.json', value: cp }]);
  expect(await sink.list('api/other')).toEqual([]);
  expect(sink.describe()).toBe('gs://tsi-audit-anchors/prod/audit-checkpoints');
}, 20_000);

it('anchors a chain in the bucket and tsi audit verify --checkpoints gs://… catches a cut tail', async () => {
  const sink = new GcsCheckpointSink({ bucket: 'tsi-audit-anchors', prefix: 'audit-checkpoints', apiEndpoint: gcs.endpoint });
  const key = generateCheckpointKey();
  const file = path.join(dir, 'audit.jsonl');
  const log = new LocalFileAuditLog(file, clock, new ChainAnchor({ sink, signer: async () => checkpointSigner(key), clock, logger: quiet, every: 4, intervalMs: 0 }));
  for (let i = 0; i < 10; i++) await log.write(input(`a${i}`));
  await log.close();
  const secrets = path.join(dir, 'data', 'secrets');
  fs.mkdirSync(secrets, { recursive: true });
  fs.writeFileSync(path.join(secrets, 'tsi-audit-checkpoint-key'), key, { mode: 0o600 });
  let out = '';
  const io = { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (out += s) }, env: { TSI_DATA_DIR: path.join(dir, 'data') } };
  const previous = process.env.STORAGE_EMULATOR_HOST;
  // The CLI builds its client from gs://… alone; the client library's emulator variable points it here.
  process.env.STORAGE_EMULATOR_HOST = `${gcs.endpoint}/storage/v1`;
  try {
    expect(await run(['audit', 'verify', '--file', file, '--checkpoints', 'gs://tsi-audit-anchors/audit-checkpoints'], io)).toBe(0);
    expect(out).toMatch(/the last at seq 9; 0 record\(s\)/);
    const lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
    fs.writeFileSync(file, lines.slice(0, 7).join('\n') + '\n');
    out = '';
    expect(await run(['audit', 'verify', '--file', file, '--checkpoints', 'gs://tsi-audit-anchors/audit-checkpoints'], io)).toBe(1);
    expect(out).toMatch(/ANCHOR BROKEN: truncated \(seq 9\)/);
  } finally {
    if (previous === undefined) delete process.env.STORAGE_EMULATOR_HOST;
    else process.env.STORAGE_EMULATOR_HOST = previous;
  }
}, 20_000);
