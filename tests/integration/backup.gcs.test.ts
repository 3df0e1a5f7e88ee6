import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createServer, type Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { CRC32C } from '@google-cloud/storage';
import { GcsBackupStore } from '../../shared/backup/gcs.js';

/**
 * The Cloud Storage adapter through the real @google-cloud/storage client, against a small
 * stand-in of the GCS JSON API: multipart upload, media download, listing with a delimiter.
 */
const objects = new Map<string, Buffer>(); // "bucket/name" → bytes
const requests: string[] = [];
let server: Server;
let endpoint: string;

const crc32c = (data: Buffer) => {
  const c = new CRC32C();
  c.update(data);
  return c.toString();
};
const hashes = (data: Buffer) => ({ md5Hash: createHash('md5').update(data).digest('base64'), crc32c: crc32c(data) });

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      requests.push(`${req.method} ${url.pathname}`);
      const json = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      let m = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(url.pathname);
      if (req.method === 'POST' && m && url.searchParams.get('uploadType') === 'multipart') {
        const boundary = /boundary=([^;]+)/.exec(String(req.headers['content-type']))![1]!.replace(/"/g, '');
        const body = Buffer.concat(chunks);
        const parts: Buffer[] = [];
        let at = body.indexOf(`--${boundary}`);
        while (at >= 0) {
          const next = body.indexOf(`--${boundary}`, at + boundary.length + 2);
          if (next < 0) break;
          const part = body.subarray(at + boundary.length + 2, next);
          const split = part.indexOf('\r\n\r\n');
          parts.push(part.subarray(split + 4, part.length - 2));
          at = next;
        }
        const meta = JSON.parse(parts[0]!.toString('utf8')) as { name?: string };
        meta.name ??= url.searchParams.get('name') ?? undefined;
        const data = parts[1]!;
        objects.set(`${m[1]}/${meta.name!}`, data);
        return json(200, { kind: 'storage#object', bucket: m[1], name: meta.name, size: String(data.length), ...hashes(data) });
      }
      m = /^\/storage\/v1\/b\/([^/]+)\/o\/(.+)$/.exec(url.pathname);
      if (req.method === 'GET' && m && url.searchParams.get('alt') === 'media') {
        const data = objects.get(`${m[1]}/${decodeURIComponent(m[2]!)}`);
        if (!data) return json(404, { error: { code: 404, message: 'No such object' } });
        const h = hashes(data);
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-goog-hash': `crc32c=${h.crc32c},md5=${h.md5Hash}`, 'content-length': data.length });
        return res.end(data);
      }
      m = /^\/storage\/v1\/b\/([^/]+)\/o$/.exec(url.pathname);
      if (req.method === 'GET' && m) {
        const prefix = url.searchParams.get('prefix') ?? '';
        const names = [...objects.keys()].filter((k) => k.startsWith(`${m![1]}/${prefix}`)).map((k) => k.slice(m![1]!.length + 1));
        const prefixes = [...new Set(names.map((n) => n.slice(prefix.length)).filter((r) => r.includes('/')).map((r) => prefix + r.slice(0, r.indexOf('/') + 1)))];
        return json(200, { kind: 'storage#objects', items: names.filter((n) => !n.slice(prefix.length).includes('/')).map((name) => ({ name })), prefixes });
      }
      json(404, { error: { code: 404, message: `no route ${req.method} ${url.pathname}` } });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  endpoint = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});


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
    expect([...objects.keys()].sort()).toEqual([
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
