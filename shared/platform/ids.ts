import { randomBytes } from 'node:crypto';
import { monotonicFactory } from 'ulid';

const nextUlid = monotonicFactory();

/** Sortable random id (ULID) with a readable prefix, e.g. `inv_01J…`. Time comes from the injected clock. */
export function newId(prefix: string, nowMs: number = Date.now()): string {
  return `${prefix}_${nextUlid(nowMs).toLowerCase()}`;
}

export function randomToken(bytes = 16): string {
  return randomBytes(bytes).toString('hex');
}
