import type { RequestContext } from '../platform/http.js';

/**
 * Who asked, and from where: what every compliance use case needs to decide (roles, team for
 * visibility, the person for separation of duties) and to write its own audit records with the
 * same request id, trace and source IP as the HTTP kit's request record. Built once from the
 * request context and passed through; never re-derived further down.
 */
export interface RequestActor {
  email: string;
  roles: string[];
  team: string | null;
  requestId: string | null;
  trace: string | null;
  sourceIp: string | null;
}

export function actorOf(ctx: RequestContext): RequestActor {
  const who = ctx.who;
  return { email: who.email, roles: who.roles, team: who.team, requestId: ctx.requestId, trace: ctx.trace, sourceIp: ctx.sourceIp };
}

/** A scheduled or event-driven job acting on its own (no request behind it). */
export function systemActor(name: string, requestId: string | null = null): RequestActor {
  return { email: name, roles: [], team: null, requestId, trace: null, sourceIp: null };
}

/** The origin fields of an audit record written on this actor's behalf. */
export function auditOrigin(actor: RequestActor) {
  return { actor: actor.email, roles: actor.roles, request_id: actor.requestId, trace: actor.trace, source_ip: actor.sourceIp };
}
