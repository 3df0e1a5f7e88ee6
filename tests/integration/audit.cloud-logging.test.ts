import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Logging } from '@google-cloud/logging';
import { ChainAnchor } from '../../shared/audit/anchor.js';
import { checkpointSigner, CHECKPOINT_KEY_SECRET, generateCheckpointKey } from '../../shared/audit/checkpoint.js';
import { LocalCheckpointSink } from '../../shared/audit/checkpoint-sink.js';
import { CloudLoggingAuditLog } from '../../shared/audit/cloud-logging.js';
import type { AuditInput } from '../../shared/audit/model.js';
import { run } from '../../cli/main.js';
import { ManualClock } from '../../shared/platform/clock.js';
import { Logger } from '../../shared/platform/logger.js';

/**
 * The production audit writer through the real @google-cloud/logging client (its gRPC transport
 * replaced by a recorder): two instances write their own chains at once, each anchored in one
 * shared checkpoint sink; the entries, as `gcloud logging read --format=json` returns them, verify
 * with `tsi audit verify --file … --checkpoints …` — the library's own diagnostic entry included.
 */
const clock = new ManualClock(new Date('2026-03-01T10:00:00Z'));
const quiet = new Logger({}, () => undefined, 'ERROR');
const input = (action: string): AuditInput => ({ actor: 'svc@example.com', roles: ['service'], action, resource: null, outcome: 'allowed', reason: null, request_id: null, trace: null, source_ip: '10.0.0.1' });

interface WireEntry {
  insertId: string;
  timestamp: { seconds: number | string; nanos: number };
  jsonPayload: unknown;
}

/** google.protobuf.Value (as the client encodes it) → JSON. */
function fromStruct(v: any): unknown {
  if ('structValue' in v) return Object.fromEntries(Object.entries(v.structValue.fields ?? {}).map(([k, x]) => [k, fromStruct(x)]));
  if ('listValue' in v) return (v.listValue.values ?? []).map(fromStruct);
  if ('stringValue' in v) return v.stringValue;
  if ('numberValue' in v) return v.numberValue;
  if ('boolValue' in v) return v.boolValue;
  return null;
}

it('writes per-instance chains that verify and are anchored from a Logging export', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsi-audit-cl-'));
  try {
    const requests: { entries: unknown[]; partialSuccess?: boolean }[] = [];
    const logging = new Logging({ projectId: 'tsi-test' });
    (logging as unknown as { loggingService: unknown }).loggingService = {
      writeLogEntries: async (req: { entries: unknown[]; partialSuccess?: boolean }) => {
        requests.push(req);
        return [{}];
      },
    };
    logging.detectedResource = { type: 'global' };
    const key = generateCheckpointKey();
    const sink = new LocalCheckpointSink(path.join(dir, 'checkpoints'));
    const make = (instance: string) =>
      new CloudLoggingAuditLog({ projectId: 'tsi-test', logName: 'tsi-audit', clock, instance, logging, anchor: new ChainAnchor({ sink, signer: async () => checkpointSigner(key), clock, logger: quiet, every: 4, intervalMs: 0 }) });
    const [a, b] = [make('api'), make('worker')];
    await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 3 ? a : b).write(input(`act_${i}`))));
    await Promise.all([a.close(), b.close()]);
    // Entries of one batch are all or nothing (only the library's first-write diagnostic forces otherwise).
    expect(requests.slice(1).every((r) => r.partialSuccess !== true)).toBe(true);
    // What `gcloud logging read --format=json` returns for the entries that went over the wire.
    const exported = (requests.flatMap((r) => r.entries) as WireEntry[]).map((e) => ({
      insertId: e.insertId,
      timestamp: new Date(Number(e.timestamp.seconds) * 1000 + Math.floor(e.timestamp.nanos / 1e6)).toISOString(),
      jsonPayload: fromStruct({ structValue: e.jsonPayload }),
    }));
    expect(exported.some((e) => JSON.stringify(e.jsonPayload).includes('logging.googleapis.com/diagnostic'))).toBe(true);
    const file = path.join(dir, 'export.json');
    fs.writeFileSync(file, JSON.stringify(exported));
    fs.mkdirSync(path.join(dir, 'data', 'secrets'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'data', 'secrets', CHECKPOINT_KEY_SECRET), key, { mode: 0o600 });
    let out = '';
    const io = { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (out += s) }, env: { TSI_DATA_DIR: path.join(dir, 'data') } };
    expect(await run(['audit', 'verify', '--file', file, '--checkpoints', path.join(dir, 'checkpoints')], io)).toBe(0);
    expect(out.match(/audit chain (api|worker)\/chain_\w+: OK/g)).toHaveLength(2);
    expect(out.match(/; 0 record\(s\) after it are not anchored yet/g)).toHaveLength(2);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
