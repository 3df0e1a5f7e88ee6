import { PERMISSIONS, ROLES, can, canSeeInvestigation, permissionsOf, type Permission, type Role } from '../../shared/auth/policy.js';

// The whole table, written out independently of the implementation: a change to who may do what
// must change this test too.
const X = true;
const _ = false;
//                                          viewer analyst lead compliance admin service
const EXPECTED: Record<Permission, [boolean, boolean, boolean, boolean, boolean, boolean]> = {
  'investigations.create':               [_, X, X, _, _, X],
  'investigations.read':                 [X, X, X, X, _, X],
  'investigations.list':                 [X, X, X, X, _, X],
  'investigations.cancel':               [_, X, X, _, _, _],
  'investigations.assign':               [_, _, X, _, _, _],
  'investigations.close':                [_, _, X, _, _, _],
  'investigations.reopen':               [_, _, X, _, _, _],
  'investigations.comment':              [_, X, X, _, _, _],
  'investigations.read_pii':             [_, _, X, X, _, _],
  'investigations.read_all_restricted':  [_, _, X, _, _, _],
  'audit.read':                          [_, _, _, X, _, _],
  'roles.read':                          [_, _, _, X, X, _],
  'roles.write':                         [_, _, _, _, X, _],
  'flags.read':                          [_, _, X, _, X, _],
  'flags.write':                         [_, _, _, _, X, _],
  'system.reconcile':                    [_, _, _, _, X, X],
  'system.health':                       [_, _, _, _, X, X],
  'webhooks.manage':                     [_, _, _, _, X, _],
  'warehouse.query_adhoc':               [_, _, X, _, _, _],
  'legal_holds.read':                    [_, _, _, X, _, _],
  'legal_holds.place':                   [_, _, _, X, _, _],
  'legal_holds.release':                 [_, _, _, X, _, _],
  'erasure.request':                     [_, _, _, X, _, _],
  'erasure.read':                        [_, _, _, X, _, _],
  'erasure.extend':                      [_, _, _, X, _, _],
  'retention.read':                      [_, _, _, X, _, _],
  'retention.write':                     [_, _, _, X, _, _],
  'investigations.delete':               [_, _, _, X, _, _],
};
const ORDER: Role[] = ['viewer', 'analyst', 'lead', 'compliance', 'admin', 'service'];

describe('role → permission table', () => {
  it('covers every role and every permission', () => {
    expect([...ROLES].sort()).toEqual([...ORDER].sort());
    expect([...PERMISSIONS].sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  const cases = PERMISSIONS.flatMap((permission) => ORDER.map((role, i) => [role, permission, EXPECTED[permission][i]!] as const));
  it.each(cases)('%s → %s = %s', (role, permission, allowed) => {
    expect(can([role], permission)).toBe(allowed);
    expect(permissionsOf([role]).has(permission)).toBe(allowed);
  });

  it('denies by default: no roles, unknown roles and unknown permissions grant nothing', () => {
    expect(permissionsOf([]).size).toBe(0);
    expect(permissionsOf(['superuser', 'ADMIN', '']).size).toBe(0);
    expect(can([], 'investigations.read')).toBe(false);
    expect(can(['admin', 'lead'], 'investigations.delete')).toBe(false);
  });

  it('unions the permissions of several roles', () => {
    const p = permissionsOf(['admin', 'compliance']);
    expect(p.has('roles.write')).toBe(true);
    expect(p.has('audit.read')).toBe(true);
    expect(p.has('investigations.create')).toBe(false);
  });

  it('keeps admins out of investigation contents and personal data', () => {
    expect(can(['admin'], 'investigations.read')).toBe(false);
    expect(can(['admin'], 'investigations.read_pii')).toBe(false);
    expect(can(['admin'], 'audit.read')).toBe(false);
  });
});

describe('canSeeInvestigation', () => {
  const restricted = { created_by: 'analyst@example.com', assignee: 'helper@example.com', team: 'trust', sensitivity: 'restricted' as const };
  const standard = { ...restricted, sensitivity: 'standard' as const };
  const who = (principal: string, roles: string[], team: string | null = null) => ({ principal, roles, team });

  it('shows standard investigations to anyone who may read investigations', () => {
    expect(canSeeInvestigation(who('viewer@example.com', ['viewer']), standard)).toBe(true);
    expect(canSeeInvestigation(who('x@example.com', ['analyst'], 'fraud'), standard)).toBe(true);
    expect(canSeeInvestigation(who('c@example.com', ['compliance']), standard)).toBe(true);
  });

  it('hides every investigation from callers without read permission', () => {
    expect(canSeeInvestigation(who('admin@example.com', ['admin']), standard)).toBe(false);
    expect(canSeeInvestigation(who('nobody@example.com', []), standard)).toBe(false);
    // Even the creator, once their roles are gone.
    expect(canSeeInvestigation(who('analyst@example.com', [], 'trust'), restricted)).toBe(false);
  });

  it('shows a restricted investigation to its creator (any case), assignee, the creator\'s team and leads', () => {
    expect(canSeeInvestigation(who('Analyst@Example.com', ['analyst'], 'fraud'), restricted)).toBe(true);
    expect(canSeeInvestigation(who('helper@example.com', ['analyst'], 'fraud'), restricted)).toBe(true);
    expect(canSeeInvestigation(who('teammate@example.com', ['analyst'], 'trust'), restricted)).toBe(true);
    expect(canSeeInvestigation(who('lead@example.com', ['lead']), restricted)).toBe(true);
  });

  it('hides a restricted investigation from other teams, viewers, compliance and admins', () => {
    expect(canSeeInvestigation(who('analyst2@example.com', ['analyst'], 'fraud'), restricted)).toBe(false);
    expect(canSeeInvestigation(who('loner@example.com', ['analyst'], null), restricted)).toBe(false);
    expect(canSeeInvestigation(who('viewer@example.com', ['viewer']), restricted)).toBe(false);
    expect(canSeeInvestigation(who('compliance@example.com', ['compliance']), restricted)).toBe(false);
    expect(canSeeInvestigation(who('admin@example.com', ['admin']), restricted)).toBe(false);
  });

  it('does not treat "no team" on both sides as the same team', () => {
    const teamless = { ...restricted, team: null, assignee: null };
    expect(canSeeInvestigation(who('other@example.com', ['analyst'], null), teamless)).toBe(false);
  });

  it('treats an unknown sensitivity as restricted', () => {
    const odd = { ...restricted, sensitivity: 'secret' as unknown as 'restricted' };
    expect(canSeeInvestigation(who('analyst2@example.com', ['analyst'], 'fraud'), odd)).toBe(false);
  });
});
