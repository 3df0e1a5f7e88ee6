import { redact, redactText } from '../platform/redact.js';
import type { AuditInput, AuditRecord } from './model.js';

/**
 * What an audit record may hold, decided once for every writer (local file, Cloud Logging): each
 * adapter builds its records here, so no caller can put raw personal data or a secret into the
 * trail by choosing a field the redactor does not look at. Pure.
 *
 * Kept as given, because they are the record's identities and facts by design:
 * - `actor` (the authenticated principal, lower-cased), `roles`, and `principal` (the staff
 *   principal an action changes, e.g. whose role binding; lower-cased, kept only while it is
 *   one e-mail address, redacted like free text otherwise), and a `resource` that is exactly
 *   `<collection>/<that principal>` (`role-bindings/lead@example.com`), so who was given which
 *   role stays readable and searchable;
 * - `source_ip` (issue 16.4: every record names where the request came from);
 * - `outcome`, `status`, the writer's own `id`, and `time` (normalised; what is not a timestamp becomes now).
 * Redacted as identifiers (named secrets and PII removed; card and entropy heuristics off, so a
 * Pub/Sub message id or a UUID stays readable): `request_id`, `trace`.
 * Everything else (action, resource, reason, method, path with any query string, details, and
 * any field a caller adds) goes through the redactor whole.
 */
const KEPT = new Set(['id', 'time', 'actor', 'roles', 'source_ip', 'outcome', 'status', 'principal']);
const IDENTIFIERS = new Set(['request_id', 'trace']);
const PRINCIPAL = /^[^\s@:/]+@[^\s@:/]+\.[^\s@:/]+$/;

/** A caller may date a record (e.g. an event's time); anything that is not a timestamp is replaced by now. */
export function auditTime(given: string | undefined, now: Date): string {
  const ms = given === undefined ? NaN : Date.parse(given);
  return Number.isNaN(ms) ? now.toISOString() : new Date(ms).toISOString();
}

export function prepareAuditRecord(input: AuditInput, id: string, time: string): AuditRecord {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    if (value === undefined || key === 'chain' || key === 'seq' || key === 'prev_hash' || key === 'hash') continue;
    if (KEPT.has(key)) out[key] = value;
    else if (IDENTIFIERS.has(key)) out[key] = typeof value === 'string' ? redactText(value, { identifier: true }) : value;
    else out[key] = redact(value);
  }
  const given = typeof input.principal === 'string' ? input.principal.toLowerCase() : undefined;
  const principal = given !== undefined && PRINCIPAL.test(given) ? given : undefined;
  // A resource that names the record's principal (`role-bindings/<principal>`) keeps that name.
  const collection = principal !== undefined && typeof input.resource === 'string' && input.resource.toLowerCase().endsWith(`/${principal}`) ? input.resource.slice(0, -principal.length - 1) : null;
  return {
    ...(out as Omit<AuditRecord, 'id' | 'time'>),
    id,
    time,
    actor: input.actor?.toLowerCase() ?? null,
    ...(collection !== null && /^[a-z][a-z-]*$/.test(collection) ? { resource: `${collection}/${principal}` } : {}),
    ...(given !== undefined ? { principal: principal ?? redactText(given) } : {}),
  };
}
