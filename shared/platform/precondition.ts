import { createHash } from 'node:crypto';
import { PreconditionFailedError } from './errors.js';

/**
 * `If-Match` preconditions (docs/decisions/0013, 0046). The kit checks the header against the
 * route's `version` before the handler runs (a cheap early 412), but that read is outside the
 * write, so two requests with the same ETag would both pass it. The write's own transaction
 * therefore checks again, on the version it read: each store's update takes the request's
 * `Precondition` and calls `check` inside its transaction. The kit refuses a route that declares
 * `version` but whose write never checked (one way for every such route).
 */

/** What an ETag is derived from: the resource's identity and its last change. */
export interface ResourceVersion {
  id: string;
  updated_at: string;
}

export function etagOf(v: ResourceVersion): string {
  return `"${createHash('sha256').update(`${v.id}\n${v.updated_at}`).digest('base64url').slice(0, 27)}"`;
}

export function ifMatchSatisfied(header: string, current: string): boolean {
  const strip = (t: string) => t.trim().replace(/^W\//, '');
  return header.split(',').some((t) => t.trim() === '*' || strip(t) === strip(current));
}

export class Precondition {
  private checkedOnce = false;

  constructor(readonly ifMatch: string) {}

  /**
   * Throws 412 `precondition-failed` unless `current` (the version read in the write's
   * transaction) matches. Pure: safe inside a transaction callback that may be retried.
   */
  check(current: ResourceVersion | null): void {
    this.checkedOnce = true;
    if (current && !ifMatchSatisfied(this.ifMatch, etagOf(current))) throw new PreconditionFailedError(etagOf(current));
  }

  /** Whether a write checked it (the kit's guard against a route that forgot). */
  get checked(): boolean {
    return this.checkedOnce;
  }
}

/** For stores: checks when the request carried one (most writes are unconditional). */
export function checkPrecondition(precondition: Precondition | null | undefined, current: ResourceVersion | null): void {
  precondition?.check(current);
}
