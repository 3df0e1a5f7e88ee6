/**
 * Who may do what: ONE table from roles to named permissions, deny by default. Handlers ask for a
 * permission, never for a role, so changing who may do something is a change to this table only.
 */
export const ROLES = ['viewer', 'analyst', 'lead', 'compliance', 'admin', 'service'] as const;
export type Role = (typeof ROLES)[number];

export const PERMISSIONS = [
  'investigations.create',
  'investigations.read',
  'investigations.list',
  'investigations.cancel',
  'investigations.assign',
  'investigations.close',
  'investigations.reopen',
  'investigations.comment',
  'investigations.read_pii',
  'investigations.read_all_restricted',
  'audit.read',
  'roles.read',
  'roles.write',
  'flags.read',
  'flags.write',
  'system.reconcile',
  'system.health',
  'webhooks.manage',
  /** Run one's own SQL through the warehouse guard as a step of an investigation. */
  'warehouse.query_adhoc',
  /** Compliance (shared/compliance): legal holds, erasure, retention, purging one investigation. */
  'legal_holds.read',
  'legal_holds.place',
  /** Separate from placing on purpose: a role may place holds without being able to lift them. */
  'legal_holds.release',
  'erasure.request',
  'erasure.read',
  /** Extend an erasure deadline once (GDPR art. 12(3)). */
  'erasure.extend',
  'retention.read',
  'retention.write',
  'investigations.delete',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

const READ = ['investigations.read', 'investigations.list'] as const;
const WORK = [...READ, 'investigations.create', 'investigations.comment', 'investigations.cancel'] as const;

export const ROLE_PERMISSIONS: Readonly<Record<Role, readonly Permission[]>> = {
  /** Reads standard investigations, personal data masked. */
  viewer: [...READ],
  /** Works their own cases (cancel is limited to own/assigned ones by the service). */
  analyst: [...WORK],
  /** An analyst who also manages the queue and sees every restricted case and personal data. */
  lead: [...WORK, 'investigations.assign', 'investigations.close', 'investigations.reopen', 'investigations.read_pii', 'investigations.read_all_restricted', 'flags.read', 'warehouse.query_adhoc'],
  /** Oversight: the audit trail, personal data in cases, and who holds which role (access reviews). */
  compliance: [
    ...READ,
    'investigations.read_pii',
    'audit.read',
    'roles.read',
    'legal_holds.read',
    'legal_holds.place',
    'legal_holds.release',
    'erasure.request',
    'erasure.read',
    'erasure.extend',
    'retention.read',
    'retention.write',
    'investigations.delete',
  ],
  /** Runs the platform and its role bindings, but is deliberately not a reader of case contents. */
  admin: ['roles.read', 'roles.write', 'flags.read', 'flags.write', 'system.reconcile', 'system.health', 'webhooks.manage'],
  /** Machine callers: submit work and drive the scheduled jobs. */
  service: [...READ, 'investigations.create', 'system.reconcile', 'system.health'],
};

const isRole = (value: string): value is Role => (ROLES as readonly string[]).includes(value);

/** Union of the roles' permissions; unknown role names grant nothing. */
export function permissionsOf(roles: readonly string[]): ReadonlySet<Permission> {
  const out = new Set<Permission>();
  for (const role of roles) {
    if (isRole(role)) for (const permission of ROLE_PERMISSIONS[role]) out.add(permission);
  }
  return out;
}

export function can(roles: readonly string[], permission: string): boolean {
  return (permissionsOf(roles) as ReadonlySet<string>).has(permission);
}

export interface Viewer {
  principal: string;
  roles: readonly string[];
  team: string | null;
}

export interface InvestigationAccess {
  created_by: string;
  assignee: string | null;
  /** The creator's team when the investigation was opened. */
  team: string | null;
  sensitivity: 'standard' | 'restricted';
}

/**
 * Whether an investigation exists at all for this caller. Restricted ones are visible only to
 * their creator, their assignee, the creator's team and holders of read_all_restricted (leads).
 * THE visibility check: every path that addresses one investigation — reads, updates, actions,
 * comments, purge, holds — asks here, and answers an invisible one exactly like a missing one
 * (404), so a caller cannot learn that a restricted investigation exists (docs/decisions/0040).
 */
export function canSeeInvestigation(viewer: Viewer, inv: InvestigationAccess): boolean {
  const permissions = permissionsOf(viewer.roles);
  if (!permissions.has('investigations.read')) return false;
  // Anything not explicitly standard is treated as restricted (deny by default).
  if (inv.sensitivity === 'standard') return true;
  if (permissions.has('investigations.read_all_restricted')) return true;
  const me = viewer.principal.toLowerCase();
  if (inv.created_by.toLowerCase() === me) return true;
  if (inv.assignee !== null && inv.assignee.toLowerCase() === me) return true;
  return viewer.team !== null && inv.team !== null && viewer.team === inv.team;
}

/**
 * The access facts of a stored investigation document, read defensively: a missing or malformed
 * field never widens access (unknown sensitivity is restricted, unknown owners match nobody).
 */
export function accessOfStored(data: Record<string, unknown>): InvestigationAccess {
  const str = (v: unknown): string | null => (typeof v === 'string' && v ? v : null);
  return {
    created_by: str(data.created_by) ?? '',
    assignee: str(data.assignee),
    team: str(data.team),
    sensitivity: data.sensitivity === 'standard' ? 'standard' : 'restricted',
  };
}


/**
 * Roles nobody may add to their own binding (docs/decisions/0041): `admin` changes who may do
 * what, `compliance` places and releases holds, purges and erases. Another admin must grant them,
 * so no one can approve their own request by first giving themselves the approver's role.
 */
export const SELF_GRANT_FORBIDDEN: readonly Role[] = ['admin', 'compliance'];

/** Pure: the forbidden roles a role change would add to the changer's own binding (empty: allowed). */
export function selfGrantedRoles(changer: string, target: string, before: readonly string[], after: readonly string[]): Role[] {
  if (changer.trim().toLowerCase() !== target.trim().toLowerCase()) return [];
  return SELF_GRANT_FORBIDDEN.filter((r) => after.includes(r) && !before.includes(r));
}
