import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GcsBackupStore } from '../../shared/backup/gcs.js';
import { startGcsStandIn, type GcsStandIn } from './gcs-standin.js';

/**
 * The Cloud Storage adapter through the real @google-cloud/storage client, against a small
 * stand-in of the GCS JSON API (gcs-standin.ts): multipart upload, media download, listing with a delimiter.
 */
let gcs: GcsStandIn;
let endpoint: string;
beforeAll(async () => {
  gcs = await startGcsStandIn();
  endpoint = gcs.endpoint;
});
afterAll(() => gcs.close());

it('uploads, downloads and lists backups under the bucket prefix', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsi-gcs-'));
  try {
    const store = new GcsBackupStore({ bucket: 'tsi-backups', prefix: 'firestore/(default)', projectId: 'tsi-prod', apiEndpoint: endpoint });
    const payload = Buffer.concat([Buffer.from('gzip bytes \x00\xff'), Buffer.alloc(70_000, 7)]);
    fs.writeFileSync(path.join(dir, 'a.ndjson.gz'), payload);
    fs.writeFileSync(path.join(dir, 'manifest.json'), '{"ok":true}');
    await store.put('backup-1', 'a.ndjson.gz', path.join(dir, 'a.ndjson.gz'));
    await store.put('backup-1', 'manifest.json', path.join(dir, 'manifest.json'));
    await store.put('backup-2', 'manifest.json', path.join(dir, 'manifest.json'));
    expect([...gcs.live().keys()].sort()).toEqual([
      'tsi-backups/firestore/(default)/backup-1/a.ndjson.gz',
      'tsi-backups/firestore/(default)/backup-1/manifest.json',
      'tsi-backups/firestore/(default)/backup-2/manifest.json',
    ]);
    await store.fetch('backup-1', 'a.ndjson.gz', path.join(dir, 'back.gz'));
    expect(fs.readFileSync(path.join(dir, 'back.gz'))).toEqual(payload);
    await expect(store.list()).resolves.toEqual(['backup-1', 'backup-2']);
    expect(store.describe('backup-1')).toBe('gs://tsi-backups/firestore/(default)/backup-1');
    await expect(store.fetch('backup-9', 'manifest.json', path.join(dir, 'x'))).rejects.toThrow();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 20_000);
