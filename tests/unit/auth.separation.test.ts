import { SELF_GRANT_FORBIDDEN, accessOfStored, canSeeInvestigation, selfGrantedRoles } from '../../shared/auth/policy.js';

describe('separation of duties: no self-grant of approving roles', () => {
  it('refuses adding admin or compliance to one\'s own binding, whatever the case of the email', () => {
    expect(selfGrantedRoles('admin@example.com', 'Admin@Example.com', ['admin'], ['admin', 'compliance'])).toEqual(['compliance']);
    expect(selfGrantedRoles('lead@example.com', 'lead@example.com', ['lead'], ['lead', 'admin', 'compliance'])).toEqual(['admin', 'compliance']);
  });

  it('allows keeping a role one has, dropping roles, and granting others', () => {
    expect(selfGrantedRoles('admin@example.com', 'admin@example.com', ['admin'], ['admin'])).toEqual([]);
    expect(selfGrantedRoles('admin@example.com', 'admin@example.com', ['admin', 'compliance'], ['admin'])).toEqual([]);
    // The audited way for an admin to read cases (0004) stays open: lead is not an approving role.
    expect(selfGrantedRoles('admin@example.com', 'admin@example.com', ['admin'], ['admin', 'lead'])).toEqual([]);
    expect(selfGrantedRoles('admin@example.com', 'other@example.com', [], ['admin', 'compliance'])).toEqual([]);
  });

  it('names exactly the approving roles', () => {
    expect([...SELF_GRANT_FORBIDDEN].sort()).toEqual(['admin', 'compliance']);
  });
});

describe('visibility of a stored investigation document', () => {
  const compliance = { principal: 'compliance@example.com', roles: ['compliance'], team: null };

  it('reads restricted, missing and malformed sensitivity as restricted', () => {
    expect(accessOfStored({ sensitivity: 'restricted', created_by: 'a@example.com', team: 'trust', assignee: null }).sensitivity).toBe('restricted');
    expect(accessOfStored({ created_by: 'a@example.com' }).sensitivity).toBe('restricted');
    expect(accessOfStored({ sensitivity: 'STANDARD' }).sensitivity).toBe('restricted');
    expect(accessOfStored({ sensitivity: 'standard' }).sensitivity).toBe('standard');
  });

  it('hides a restricted investigation from compliance unless creator, assignee or team', () => {
    expect(canSeeInvestigation(compliance, accessOfStored({ sensitivity: 'restricted', created_by: 'analyst@example.com', team: 'trust', assignee: null }))).toBe(false);
    expect(canSeeInvestigation(compliance, accessOfStored({ sensitivity: 'restricted', created_by: 'analyst@example.com', team: 'trust', assignee: 'compliance@example.com' }))).toBe(true);
    expect(canSeeInvestigation(compliance, accessOfStored({ sensitivity: 'standard', created_by: 'analyst@example.com' }))).toBe(true);
  });

  it('never matches a missing owner or team', () => {
    const nobody = { principal: 'x@example.com', roles: ['analyst'], team: null };
    expect(canSeeInvestigation(nobody, accessOfStored({ sensitivity: 'restricted', created_by: 42, team: null }))).toBe(false);
  });
});
