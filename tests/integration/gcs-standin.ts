import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { CRC32C } from '@google-cloud/storage';

/**
 * A small stand-in of the Cloud Storage JSON API, enough for the real @google-cloud/storage client:
 * multipart upload (with `ifGenerationMatch`), media download, delete (of the live object or one
 * generation), listing with prefix/delimiter and `versions`. Buckets named `versioned-*` keep
 * noncurrent versions on delete and overwrite, as object versioning does.
 */
export interface StoredObject {
  data: Buffer;
  generation: number;
  live: boolean;
}

export interface GcsStandIn {
  endpoint: string;
  /** "bucket/name" → versions, oldest first. */
  objects: Map<string, StoredObject[]>;
  requests: string[];
  /** Live objects: "bucket/name" → bytes. */
  live(): Map<string, Buffer>;
  close(): Promise<void>;
}

const crc32c = (data: Buffer) => {
  const c = new CRC32C();
  c.update(data);
  return c.toString();
};
const hashes = (data: Buffer) => ({ md5Hash: createHash('md5').update(data).digest('base64'), crc32c: crc32c(data) });

export async function startGcsStandIn(): Promise<GcsStandIn> {
  const objects = new Map<string, StoredObject[]>();
  const requests: string[] = [];
  let generations = 1000;
  const liveOf = (key: string) => objects.get(key)?.find((v) => v.live);
  const meta = (bucket: string, name: string, v: StoredObject) => ({ kind: 'storage#object', bucket, name, generation: String(v.generation), size: String(v.data.length), ...hashes(v.data) });

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      // Through STORAGE_EMULATOR_HOST the client sends JSON-API calls without the /storage/v1 prefix.
      if (url.pathname.startsWith('/b/')) url.pathname = `/storage/v1${url.pathname}`;
      requests.push(`${req.method} ${url.pathname}${url.search}`);
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
        const info = JSON.parse(parts[0]!.toString('utf8')) as { name?: string };
        const name = info.name ?? url.searchParams.get('name')!;
        const key = `${m[1]}/${name}`;
        if (url.searchParams.get('ifGenerationMatch') === '0' && liveOf(key)) return json(412, { error: { code: 412, message: 'At least one of the pre-conditions you specified did not hold.' } });
        const versions = objects.get(key) ?? [];
        const versioned = m[1]!.startsWith('versioned-');
        const kept = versioned ? versions.map((v) => ({ ...v, live: false })) : [];
        const v: StoredObject = { data: parts[1]!, generation: ++generations, live: true };
        objects.set(key, [...kept, v]);
        return json(200, meta(m[1]!, name, v));
      }
      m = /^\/storage\/v1\/b\/([^/]+)\/o\/(.+)$/.exec(url.pathname);
      if (m && (req.method === 'GET' || req.method === 'DELETE')) {
        const key = `${m[1]}/${decodeURIComponent(m[2]!)}`;
        const generation = url.searchParams.get('generation');
        const versions = objects.get(key) ?? [];
        const target = generation ? versions.find((v) => String(v.generation) === generation) : versions.find((v) => v.live);
        if (!target) return json(404, { error: { code: 404, message: 'No such object' } });
        if (req.method === 'DELETE') {
          const versioned = m[1]!.startsWith('versioned-');
          const rest = generation || !versioned ? versions.filter((v) => v !== target) : versions.map((v) => (v === target ? { ...v, live: false } : v));
          if (rest.length) objects.set(key, rest);
          else objects.delete(key);
          res.writeHead(204);
          return res.end();
        }
        if (url.searchParams.get('alt') !== 'media') return json(200, meta(m[1]!, decodeURIComponent(m[2]!), target));
        const h = hashes(target.data);
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-goog-hash': `crc32c=${h.crc32c},md5=${h.md5Hash}`, 'content-length': target.data.length, 'x-goog-generation': String(target.generation) });
        return res.end(target.data);
      }
      m = /^\/storage\/v1\/b\/([^/]+)\/o$/.exec(url.pathname);
      if (req.method === 'GET' && m) {
        const bucket = m[1]!;
        const prefix = url.searchParams.get('prefix') ?? '';
        const all = url.searchParams.get('versions') === 'true';
        const delimiter = url.searchParams.get('delimiter');
        const entries = [...objects.entries()].filter(([k]) => k.startsWith(`${bucket}/${prefix}`));
        const items: unknown[] = [];
        const prefixes = new Set<string>();
        for (const [k, versions] of entries) {
          const name = k.slice(bucket.length + 1);
          const rest = name.slice(prefix.length);
          if (delimiter && rest.includes(delimiter)) {
            prefixes.add(prefix + rest.slice(0, rest.indexOf(delimiter) + 1));
            continue;
          }
          for (const v of versions) if (all || v.live) items.push(meta(bucket, name, v));
        }
        return json(200, { kind: 'storage#objects', items, prefixes: [...prefixes] });
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
    live() {
      const out = new Map<string, Buffer>();
      for (const [k, versions] of objects) {
        const v = versions.find((x) => x.live);
        if (v) out.set(k, v.data);
      }
      return out;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
