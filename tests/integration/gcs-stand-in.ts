import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { CRC32C } from '@google-cloud/storage';

/**
 * A small in-process stand-in for the Cloud Storage JSON API, enough for the real
 * @google-cloud/storage client: multipart upload (with the `ifGenerationMatch` precondition:
 * 412 when the object exists), media download (with x-goog-hash so the client's integrity check
 * runs), listing by prefix, and DELETE refused with 403 as a bucket under a locked retention
 * policy does. Objects live in `objects` ("bucket/name" → bytes).
 */
export interface GcsStandIn {
  endpoint: string;
  objects: Map<string, Buffer>;
  requests: string[];
  close(): Promise<void>;
}

const crc32c = (data: Buffer) => {
  const c = new CRC32C();
  c.update(data);
  return c.toString();
};
const hashes = (data: Buffer) => ({ md5Hash: createHash('md5').update(data).digest('base64'), crc32c: crc32c(data) });

function multipartParts(body: Buffer, contentType: string): Buffer[] {
  const boundary = /boundary=([^;]+)/.exec(contentType)![1]!.replace(/"/g, '');
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
  return parts;
}

export async function startGcsStandIn(): Promise<GcsStandIn> {
  const objects = new Map<string, Buffer>();
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      requests.push(`${req.method} ${url.pathname}${url.search}`);
      const json = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      let m = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(url.pathname);
      if (req.method === 'POST' && m && url.searchParams.get('uploadType') === 'multipart') {
        const parts = multipartParts(Buffer.concat(chunks), String(req.headers['content-type']));
        const meta = JSON.parse(parts[0]!.toString('utf8')) as { name?: string };
        const name = meta.name ?? url.searchParams.get('name')!;
        const key = `${m[1]}/${name}`;
        if (url.searchParams.get('ifGenerationMatch') === '0' && objects.has(key)) return json(412, { error: { code: 412, message: 'At least one of the pre-conditions you specified did not hold.' } });
        const data = parts[1]!;
        objects.set(key, data);
        return json(200, { kind: 'storage#object', bucket: m[1], name, generation: '1', size: String(data.length), ...hashes(data) });
      }
      m = /^\/storage\/v1\/b\/([^/]+)\/o\/(.+)$/.exec(url.pathname);
      if (m && req.method === 'DELETE') return json(403, { error: { code: 403, message: 'Object is subject to bucket retention policy and cannot be deleted.' } });
      if (m && req.method === 'GET' && url.searchParams.get('alt') === 'media') {
        const data = objects.get(`${m[1]}/${decodeURIComponent(m[2]!)}`);
        if (!data) return json(404, { error: { code: 404, message: 'No such object' } });
        const h = hashes(data);
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-goog-hash': `crc32c=${h.crc32c},md5=${h.md5Hash}`, 'content-length': data.length });
        return res.end(data);
      }
      m = /^\/storage\/v1\/b\/([^/]+)\/o$/.exec(url.pathname);
      if (req.method === 'GET' && m) {
        const prefix = url.searchParams.get('prefix') ?? '';
        const names = [...objects.keys()].filter((k) => k.startsWith(`${m![1]}/${prefix}`)).map((k) => k.slice(m![1]!.length + 1)).sort();
        return json(200, { kind: 'storage#objects', items: names.map((name) => ({ name, bucket: m![1] })) });
      }
      json(404, { error: { code: 404, message: `no route ${req.method} ${url.pathname}` } });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    endpoint: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`,
    objects,
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
