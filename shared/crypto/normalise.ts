import { isIPv4, isIPv6 } from 'node:net';

/**
 * Normalisation of subject values before they are blind-indexed, so that every spelling of the
 * same identifier finds the same investigations. Pure. Rules (docs/decisions/0011):
 * - every value: Unicode NFC, surrounding whitespace trimmed;
 * - email: lower-cased as a whole (no provider-specific folding of dots or "+tags": those can be
 *   different mailboxes, and a false match would link two people);
 * - ip: canonical text form: IPv4 dotted decimal; IPv6 per RFC 5952 (lower case, longest zero run
 *   compressed); IPv4-mapped IPv6 (::ffff:a.b.c.d) becomes the IPv4 address;
 * - user_id, voice_id, card_fingerprint and unknown types: case is significant, only trimmed.
 * The subject type is part of the indexed input, so "x" as a user id and as a voice id differ.
 */
export interface SubjectRef {
  type: string;
  value: string;
}

const TYPE = /^[a-z][a-z0-9_]{0,63}$/;

export class SubjectValueError extends Error {
  override name = 'SubjectValueError';
}

export function normaliseSubjectValue(type: string, value: string): string {
  if (!TYPE.test(type)) throw new SubjectValueError('subject type must be lower-case letters, digits or _');
  const v = value.normalize('NFC').trim();
  if (v === '') throw new SubjectValueError('subject value is empty');
  switch (type) {
    case 'email':
      return v.toLowerCase();
    case 'ip':
      return canonicalIp(v);
    default:
      return v;
  }
}

/** The exact bytes the blind index is computed over: type, a NUL, the normalised value. */
export function blindIndexInput(subject: SubjectRef): string {
  return `${subject.type}\u0000${normaliseSubjectValue(subject.type, subject.value)}`;
}

export function canonicalIp(text: string): string {
  const t = text.trim();
  if (isIPv4(t)) return t.split('.').map((p) => String(Number(p))).join('.');
  if (!isIPv6(t) || t.includes('%')) throw new SubjectValueError('not an IPv4 or IPv6 address (zone ids are not accepted)');
  const words = ipv6Words(t);
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) {
    return [words[6]! >> 8, words[6]! & 0xff, words[7]! >> 8, words[7]! & 0xff].join('.');
  }
  return compressIpv6(words);
}

function ipv6Words(text: string): number[] {
  let t = text.toLowerCase();
  // A trailing dotted quad stands for the last two words.
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(t);
  if (dotted) {
    const [a, b, c, d] = dotted[1]!.split('.').map(Number) as [number, number, number, number];
    t = t.slice(0, -dotted[1]!.length) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = t.split('::') as [string, string | undefined];
  const parse = (s: string) => (s === '' ? [] : s.split(':').map((w) => parseInt(w, 16)));
  const left = parse(head);
  if (tail === undefined) return left;
  const right = parse(tail);
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}

function compressIpv6(words: number[]): string {
  // RFC 5952 4.2: compress the longest run of two or more zero words, the first if tied.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}
