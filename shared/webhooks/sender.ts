import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { checkUrl, DestinationRefusedError, resolveDestination, systemLookup, type DestinationPolicy, type Lookup } from './ssrf.js';

/**
 * Sends one webhook POST. The destination is checked and resolved by the SSRF guard right before
 * connecting, and the socket connects to that vetted address (TLS still verifies the host name),
 * so a DNS answer that changes after the check is never used. Redirects are not followed: a 3xx
 * is just a failed attempt. At most 64 KiB of the response is read.
 */
export interface SendRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs?: number;
}

export type SendResult =
  | { kind: 'response'; status: number; retryAfter: string | null; latencyMs: number }
  | { kind: 'error'; error: string; blocked: boolean; latencyMs: number };

export type Sender = (req: SendRequest) => Promise<SendResult>;

const MAX_RESPONSE_BYTES = 64 * 1024;

export function createSender(policy: DestinationPolicy, lookup: Lookup = systemLookup): Sender {
  return async (req) => {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    let target;
    try {
      const checked = checkUrl(req.url, policy);
      const vetted = await resolveDestination(checked, policy, lookup);
      target = { checked, vetted };
    } catch (error) {
      const blocked = error instanceof DestinationRefusedError;
      return { kind: 'error', error: blocked ? `destination refused: ${(error as Error).message}` : 'destination check failed', blocked, latencyMs: elapsed() };
    }
    const { checked, vetted } = target;
    const pinned: LookupFunction = (_host, options, callback) => {
      if ((options as { all?: boolean }).all) (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address: vetted.address, family: vetted.family }]);
      else callback(null, vetted.address, vetted.family);
    };
    const isHttps = checked.url.protocol === 'https:';
    const options = {
      method: 'POST',
      host: checked.host,
      port: checked.url.port || (isHttps ? 443 : 80),
      path: `${checked.url.pathname}${checked.url.search}`,
      headers: { ...req.headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(req.body)), 'user-agent': 'tsi-webhooks/1' },
      lookup: pinned,
      agent: false as const,
      ...(isHttps && !checked.literal ? { servername: checked.host } : {}),
    };
    return new Promise<SendResult>((resolve) => {
      let settled = false;
      const done = (r: SendResult) => {
        if (!settled) {
          settled = true;
          resolve(r);
        }
      };
      const outgoing = (isHttps ? httpsRequest : httpRequest)(options, (res: IncomingMessage) => {
        let read = 0;
        res.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > MAX_RESPONSE_BYTES) res.destroy();
        });
        const finish = () => {
          const ra = res.headers['retry-after'];
          done({ kind: 'response', status: res.statusCode ?? 0, retryAfter: typeof ra === 'string' ? ra : null, latencyMs: elapsed() });
        };
        res.on('end', finish);
        res.on('close', finish);
        res.on('error', finish);
      });
      outgoing.setTimeout(req.timeoutMs ?? 15_000, () => outgoing.destroy(new Error('timed out')));
      outgoing.on('error', (error) => done({ kind: 'error', error: error.message.slice(0, 200), blocked: false, latencyMs: elapsed() }));
      outgoing.end(req.body);
    });
  };
}
