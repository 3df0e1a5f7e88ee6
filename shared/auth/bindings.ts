import type { Firestore } from '@google-cloud/firestore';
import { z } from 'zod';
import { systemClock, type Clock } from '../platform/clock.js';
import { checkPrecondition, type Precondition } from '../platform/precondition.js';
import { SeparationOfDutiesError } from './errors.js';
import { ROLES, selfGrantedRoles, type Role } from './policy.js';

/**
 * Who holds which roles, in Firestore (`role_bindings/<lower-cased email>`). A principal without a
 * binding, or with an empty one, has no role and therefore no permission.
 */
export const ROLE_BINDINGS_COLLECTION = 'role_bindings';
const SEED_ACTOR = 'system:local-seed';

const Email = z.string().trim().max(320).pipe(z.email()).transform((e) => e.toLowerCase());
const Team = z.string().trim().min(1).max(64).regex(/^[a-z0-9_-]+$/);
const Roles = z.array(z.enum(ROLES)).max(ROLES.length).transform((r) => [...new Set(r)]);

export const RoleBindingInputSchema = z.strictObject({
  email: Email,
  roles: Roles,
  team: Team.nullable().default(null),
});
export type RoleBindingInput = z.input<typeof RoleBindingInputSchema>;

/** The stored document, validated whenever it is read back. */
export const RoleBindingSchema = z.strictObject({
  email: z.string(),
  roles: z.array(z.enum(ROLES)),
  team: z.string().nullable(),
  updated_by: z.string(),
  updated_at: z.string(),
});
export type RoleBinding = z.infer<typeof RoleBindingSchema>;

/** Local mode's principals, one per role (two analysts on different teams to exercise restriction). */
export const LOCAL_ROLE_BINDINGS: readonly { email: string; roles: Role[]; team: string | null }[] = [
  { email: 'admin@example.com', roles: ['admin'], team: null },
  { email: 'lead@example.com', roles: ['lead'], team: null },
  { email: 'analyst@example.com', roles: ['analyst'], team: 'trust' },
  { email: 'analyst2@example.com', roles: ['analyst'], team: 'fraud' },
  { email: 'compliance@example.com', roles: ['compliance'], team: null },
  { email: 'viewer@example.com', roles: ['viewer'], team: null },
];

const ALREADY_EXISTS = 6;

export class RoleBindings {
  private readonly clock: Clock;

  constructor(
    private readonly db: Firestore,
    options: { clock?: Clock } = {},
  ) {
    this.clock = options.clock ?? systemClock;
  }

  private doc(email: string) {
    return this.db.collection(ROLE_BINDINGS_COLLECTION).doc(email.toLowerCase());
  }

  private parse(id: string, data: unknown): RoleBinding {
    const parsed = RoleBindingSchema.safeParse(data);
    // A damaged binding must not grant anything, and must not pass silently either.
    if (!parsed.success) throw new Error(`Stored role binding "${ROLE_BINDINGS_COLLECTION}/${id}" is invalid: ${parsed.error.issues[0]?.message ?? 'unknown'}`);
    return parsed.data;
  }

  /** The binding for a principal, or null (no role). */
  async get(email: string): Promise<RoleBinding | null> {
    const key = email.trim().toLowerCase();
    if (!key || key.includes('/')) return null;
    const snap = await this.doc(key).get();
    return snap.exists ? this.parse(snap.id, snap.data()) : null;
  }

  /** All bindings, ordered by email. The collection is small (one document per staff member). */
  async list(): Promise<RoleBinding[]> {
    const snap = await this.db.collection(ROLE_BINDINGS_COLLECTION).get();
    return snap.docs.map((d) => this.parse(d.id, d.data())).sort((a, b) => (a.email < b.email ? -1 : a.email > b.email ? 1 : 0));
  }

  /**
   * Writes a binding as given (set-up and seeding; no actor checks). People change roles through
   * `change`. An empty role list keeps the record but grants nothing.
   */
  async put(binding: RoleBindingInput, actor: string): Promise<RoleBinding> {
    const input = RoleBindingInputSchema.parse(binding);
    const stored: RoleBinding = { ...input, updated_by: actor, updated_at: this.clock.now().toISOString() };
    await this.doc(input.email).set(stored);
    return stored;
  }

  /**
   * A role change by a person (the API's use case): replaces a principal's roles and team, refusing
   * to let anyone add `admin` or `compliance` to their own binding (separation of duties, 0041).
   * The check reads the binding inside the same transaction as the write, so a concurrent change
   * cannot slip in between. Returns the binding before and after, for the audit record.
   */
  async change(binding: RoleBindingInput, actor: string, expect?: Precondition | null): Promise<{ before: RoleBinding | null; after: RoleBinding }> {
    const input = RoleBindingInputSchema.parse(binding);
    const ref = this.doc(input.email);
    const at = this.clock.now().toISOString();
    return this.db.runTransaction(async (tx) => {
      const snap = await tx.get(ref);
      const before = snap.exists ? this.parse(snap.id, snap.data()) : null;
      // If-Match is checked on the version this transaction read, so two PUTs with one ETag cannot both win.
      checkPrecondition(expect, before ? { id: snap.id, updated_at: before.updated_at } : null);
      const added = selfGrantedRoles(actor, input.email, before?.roles ?? [], input.roles);
      if (added.length) {
        throw new SeparationOfDutiesError('self-grant', `You cannot add ${added.join(' or ')} to your own role binding; another admin must grant it.`, { roles: added });
      }
      const after: RoleBinding = { ...input, updated_by: actor, updated_at: at };
      tx.set(ref, after);
      return { before, after };
    });
  }

  /**
   * Writes each default only if that principal has no binding yet, with an atomic create, so a
   * restart never undoes a change an admin made since.
   */
  async seedLocal(defaults: readonly RoleBindingInput[]): Promise<{ created: string[] }> {
    const created: string[] = [];
    for (const entry of defaults) {
      const input = RoleBindingInputSchema.parse(entry);
      const stored: RoleBinding = { ...input, updated_by: SEED_ACTOR, updated_at: this.clock.now().toISOString() };
      try {
        await this.doc(input.email).create(stored);
        created.push(input.email);
      } catch (error) {
        if ((error as { code?: unknown }).code !== ALREADY_EXISTS) throw error;
      }
    }
    return { created };
  }
}
