import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';

/**
 * SSRF guard for webhook destinations. Pure classification of URLs and addresses, plus one I/O
 * helper that resolves a host name and vets EVERY address it resolves to. The sender connects to
 * an address vetted here (never re-resolving), so DNS rebinding between check and connect cannot
 * redirect a delivery into the VPC; redirects are never followed.
 *
 * Outside local mode only https to public addresses is allowed. Local mode also accepts http and
 * loopback receivers (development), and nothing else private.
 */
export interface DestinationPolicy {
  requireHttps: boolean;
  allowLoopback: boolean;
}

export const PRODUCTION_POLICY: DestinationPolicy = { requireHttps: true, allowLoopback: false };
export const LOCAL_POLICY: DestinationPolicy = { requireHttps: false, allowLoopback: true };

export function policyFor(mode: 'local' | 'production'): DestinationPolicy {
  return mode === 'local' ? LOCAL_POLICY : PRODUCTION_POLICY;
}

export type AddressClass = 'public' | 'loopback' | 'private' | 'link-local' | 'metadata' | 'cgnat' | 'unique-local' | 'multicast' | 'reserved' | 'unspecified';

export class DestinationRefusedError extends Error {
  override name = 'DestinationRefusedError';
}

type Cidr = [prefix: bigint, bits: number, cls: AddressClass];

function v4ToBig(ip: string): bigint {
  return ip.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

function v4(cidr: string, cls: AddressClass): Cidr {
  const [addr, bits] = cidr.split('/') as [string, string];
  return [v4ToBig(addr), Number(bits), cls];
}

/** Most specific first: the first match wins. */
const V4_RANGES: Cidr[] = [
  v4('169.254.169.254/32', 'metadata'),
  v4('0.0.0.0/8', 'unspecified'),
  v4('10.0.0.0/8', 'private'),
  v4('100.64.0.0/10', 'cgnat'),
  v4('127.0.0.0/8', 'loopback'),
  v4('169.254.0.0/16', 'link-local'),
  v4('172.16.0.0/12', 'private'),
  v4('192.0.0.0/24', 'reserved'),
  v4('192.0.2.0/24', 'reserved'),
  v4('192.88.99.0/24', 'reserved'),
  v4('192.168.0.0/16', 'private'),
  v4('198.18.0.0/15', 'reserved'),
  v4('198.51.100.0/24', 'reserved'),
  v4('203.0.113.0/24', 'reserved'),
  v4('224.0.0.0/4', 'multicast'),
  v4('240.0.0.0/4', 'reserved'),
];

function inRange(value: bigint, width: number, [prefix, bits]: Cidr): boolean {
  const shift = BigInt(width - bits);
  return value >> shift === prefix >> shift;
}

function classifyV4(ip: string): AddressClass {
  const value = v4ToBig(ip);
  return V4_RANGES.find((r) => inRange(value, 32, r))?.[2] ?? 'public';
}

/** IPv6 text → 128-bit integer (handles `::`, an embedded dotted IPv4 tail; zone ids refused). */
export function parseV6(ip: string): bigint {
  if (ip.includes('%')) throw new DestinationRefusedError('IPv6 zone identifiers are not allowed');
  let text = ip.toLowerCase();
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (tail) {
    const n = v4ToBig(tail[1]!);
    text = text.slice(0, -tail[1]!.length) + `${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const r = rest !== undefined && rest !== '' ? rest.split(':') : [];
  const groups = rest === undefined ? h : [...h, ...Array<string>(8 - h.length - r.length).fill('0'), ...r];
  if (groups.length !== 8) throw new DestinationRefusedError('not an IPv6 address');
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g || '0', 16)), 0n);
}

function v6(cidr: string, cls: AddressClass): Cidr {
  const [addr, bits] = cidr.split('/') as [string, string];
  return [parseV6(addr), Number(bits), cls];
}

const V6_RANGES: Cidr[] = [
  v6('::/128', 'unspecified'),
  v6('::1/128', 'loopback'),
  v6('fd00:ec2::254/128', 'metadata'),
  v6('100::/64', 'reserved'),
  v6('2001::/32', 'reserved'), // Teredo: tunnels to an embedded IPv4 we cannot vet
  v6('2001:db8::/32', 'reserved'),
  v6('2002::/16', 'reserved'), // 6to4: embeds an IPv4
  v6('fc00::/7', 'unique-local'),
  v6('fe80::/10', 'link-local'),
  v6('fec0::/10', 'reserved'),
  v6('ff00::/8', 'multicast'),
];
/** Forms that embed an IPv4 address: judge them by that address. */
const V4_EMBEDDING: Cidr[] = [v6('::ffff:0:0/96', 'reserved'), v6('64:ff9b::/96', 'reserved'), v6('::/96', 'reserved')];

function classifyV6(ip: string): AddressClass {
  const value = parseV6(ip);
  const exact = V6_RANGES.slice(0, 2).find((r) => inRange(value, 128, r));
  if (exact) return exact[2];
  if (V4_EMBEDDING.some((r) => inRange(value, 128, r))) {
    const n = value & 0xffffffffn;
    return classifyV4([n >> 24n, (n >> 16n) & 255n, (n >> 8n) & 255n, n & 255n].join('.'));
  }
  return V6_RANGES.find((r) => inRange(value, 128, r))?.[2] ?? 'public';
}

/** Classifies an IP literal (IPv4 dotted or IPv6, brackets allowed). */
export function classifyAddress(address: string): AddressClass {
  const ip = address.replace(/^\[|\]$/g, '');
  const family = isIP(ip);
  if (family === 4) return classifyV4(ip);
  if (family === 6) return classifyV6(ip);
  throw new DestinationRefusedError('not an IP address');
}

export function addressAllowed(cls: AddressClass, policy: DestinationPolicy): boolean {
  return cls === 'public' || (cls === 'loopback' && policy.allowLoopback);
}

const METADATA_HOSTS = new Set(['metadata.google.internal', 'metadata', 'metadata.goog', 'instance-data', 'instance-data.ec2.internal']);

/** Host names refused (or judged as loopback) before any DNS lookup. */
function classifyName(host: string): AddressClass | null {
  const h = host.toLowerCase().replace(/\.$/, '');
  if (METADATA_HOSTS.has(h)) return 'metadata';
  if (h === 'localhost' || h.endsWith('.localhost')) return 'loopback';
  if (h.endsWith('.internal') || h.endsWith('.local') || h.endsWith('.lan') || h.endsWith('.home.arpa') || !h.includes('.')) return 'private';
  return null;
}

export interface CheckedUrl {
  url: URL;
  /** Host for connecting: an IP literal without brackets, or a name still to resolve. */
  host: string;
  literal: boolean;
}

/**
 * Static checks of a webhook URL (no I/O). WHATWG URL parsing normalises the numeric IPv4 forms
 * (decimal `2130706433`, octal `0177.0.0.1`, hex `0x7f.1`, short `127.1`) to dotted form first,
 * so they are judged as the address they really are.
 */
export function checkUrl(raw: string, policy: DestinationPolicy): CheckedUrl {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new DestinationRefusedError('not a valid URL');
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && !policy.requireHttps)) {
    throw new DestinationRefusedError(policy.requireHttps ? 'the URL must use https' : 'the URL must use http or https');
  }
  if (url.username || url.password) throw new DestinationRefusedError('credentials in the URL are not allowed; authenticate with the signature');
  if (url.hash) throw new DestinationRefusedError('the URL must not have a fragment');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!host) throw new DestinationRefusedError('the URL has no host');
  if (isIP(host)) {
    const cls = classifyAddress(host);
    if (!addressAllowed(cls, policy)) throw new DestinationRefusedError(`the URL points to a ${cls} address`);
    return { url, host, literal: true };
  }
  const named = classifyName(host);
  if (named && !addressAllowed(named, policy)) throw new DestinationRefusedError(`the host name is a ${named} destination`);
  return { url, host, literal: false };
}

export interface VettedAddress {
  address: string;
  family: 4 | 6;
}

export type Lookup = (host: string) => Promise<{ address: string; family: number }[]>;
export const systemLookup: Lookup = (host) => dnsLookup(host, { all: true, verbatim: true });

/**
 * Resolves the host and vets every address: one refused address refuses the destination (a name
 * that mixes public and private answers is exactly what rebinding attacks use). Returns the
 * address to connect to.
 */
export async function resolveDestination(checked: CheckedUrl, policy: DestinationPolicy, lookup: Lookup = systemLookup): Promise<VettedAddress> {
  if (checked.literal) return { address: checked.host, family: isIP(checked.host) as 4 | 6 };
  let answers: { address: string; family: number }[];
  try {
    answers = await lookup(checked.host);
  } catch {
    throw new DestinationRefusedError('the host name does not resolve');
  }
  if (!answers.length) throw new DestinationRefusedError('the host name does not resolve');
  for (const a of answers) {
    const cls = classifyAddress(a.address);
    if (!addressAllowed(cls, policy)) throw new DestinationRefusedError(`the host name resolves to a ${cls} address`);
  }
  const first = answers[0]!;
  return { address: first.address, family: first.family === 6 ? 6 : 4 };
}
