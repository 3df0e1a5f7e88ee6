import { ConflictError } from '../platform/errors.js';

/** A deletion (API, retention, TTL, erasure) refused because a legal hold covers the record. */
export class LegalHoldError extends ConflictError {
  constructor(readonly holds: { id: string; matter: string }[], what: string) {
    const first = holds[0]!;
    super('legal-hold', `${what} is under legal hold ${first.id} (matter ${first.matter}); nothing was deleted.`, {
      legal_hold_id: first.id,
      matter: first.matter,
      legal_holds: holds.map((h) => ({ id: h.id, matter: h.matter })),
    });
  }
}

/** A retention policy change that a lock forbids (shortening, unlocking). */
export class PolicyLockedError extends ConflictError {
  constructor(kind: string, why: string) {
    super('retention-policy-locked', `Retention policy "${kind}" is locked: ${why}`, { kind });
  }
}
