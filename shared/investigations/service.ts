import { createHash } from 'node:crypto';
import { canSeeInvestigation } from '../auth/policy.js';
import type { AuditLog } from '../audit/model.js';
import type { PlatformEvent } from '../events/model.js';
import type { EventPublisher } from '../events/port.js';
import type { RateLimiter } from '../limits/rate-limiter.js';
import type { Clock } from '../platform/clock.js';
import { ForbiddenError, NotFoundError, ValidationError } from '../platform/errors.js';
import type { Caller } from '../platform/http.js';
import type { Precondition } from '../platform/precondition.js';
import { newId } from '../platform/ids.js';
import type { Logger } from '../platform/logger.js';
import * as life from './lifecycle.js';
import type { CreateInvestigation, Decision, InvestigationDoc, ListQuery } from './model.js';
import { canReadPii, presentInvestigation, presentSummary } from './present.js';
import type { CountedInvestigation, InvestigationStore, Mutation, StoredResponse } from './store.js';

export interface InvestigationServiceDeps {
  store: InvestigationStore;
  publisher: EventPublisher;
  audit: AuditLog;
  rateLimiter: RateLimiter;
  clock: Clock;
  logger: Logger;
  createPerMinute: number;
  /** Whether an email is a bound principal (assignees must be). */
  isKnownPrincipal(email: string): Promise<boolean>;
}

export interface CallContext {
  caller: Caller;
  requestId: string;
  trace: string | null;
  sourceIp: string | null;
  /** The request's If-Match, checked by the write inside its transaction. */
  precondition?: Precondition | null;
}

/**
 * Use cases of the investigation API. Authorisation of the action is done by the route
 * (permission); visibility of one investigation (restricted ones) is decided here, on every path.
 */
export class InvestigationService {
  constructor(private readonly deps: InvestigationServiceDeps) {}

  /** Publishes committed events right away; what fails stays in the outbox for the reconciler. */
  async dispatch(events: PlatformEvent[]): Promise<void> {
    const published: string[] = [];
    for (const event of events) {
      try {
        await this.deps.publisher.publish(event);
        published.push(event.id);
      } catch (error) {
        this.deps.logger.warn('publish failed; left in outbox', { event_id: event.id, event_type: event.type, error: String(error) });
      }
    }
    if (published.length) await this.deps.store.markPublished(published, this.deps.clock.now().toISOString());
  }

  async create(input: CreateInvestigation, call: CallContext, idempotencyKey?: string): Promise<{ response: StoredResponse; replayed: boolean; id: string | null }> {
    const caller = call.caller;
    await this.deps.rateLimiter.take(caller.email, 'investigations.create', this.deps.createPerMinute);
    const now = this.deps.clock.now();
    const created = life.newInvestigation(input, { email: caller.email, team: caller.team }, now);
    // The subject enters the fingerprint as its keyed blind index: a plain hash of an email is reversible by guessing.
    const fingerprint = { ...input, subject: { type: input.subject.type, index: await this.deps.store.subjectIndex(input.subject) } };
    const requestHash = createHash('sha256').update(JSON.stringify(fingerprint)).digest('hex');
    const result = await this.deps.store.create(
      created.doc,
      created.events,
      (doc) => ({ status: 202, body: presentInvestigation(doc, caller) }),
      idempotencyKey ? { key: idempotencyKey, actor: caller.email, requestHash } : undefined,
    );
    if (!result.replayed) await this.dispatch(created.events);
    const body = result.response.body as { id?: string } | null;
    return { ...result, id: body?.id ?? null };
  }

  /** Loads an investigation the caller may see; invisible restricted ones are "not found". */
  async visible(id: string, call: CallContext): Promise<InvestigationDoc> {
    const doc = await this.deps.store.get(id);
    if (!doc || !this.canSee(doc, call.caller)) throw new NotFoundError('Investigation');
    return this.revealFor(doc, call.caller);
  }

  /**
   * Decrypts what this caller may read: the subject only with PII permission (others get its masked
   * form), the question for every reader (presenters redact personal data in it for the others).
   */
  private revealFor(doc: InvestigationDoc, caller: Caller): Promise<InvestigationDoc> {
    return this.deps.store.reveal(doc, { subject: canReadPii(caller), question: true });
  }

  canSee(doc: Pick<InvestigationDoc, 'created_by' | 'assignee' | 'team' | 'sensitivity'>, caller: Caller): boolean {
    return canSeeInvestigation(
      { principal: caller.email, roles: caller.roles as never, team: caller.team },
      { created_by: doc.created_by, assignee: doc.assignee, team: doc.team, sensitivity: doc.sensitivity },
    );
  }

  async read(id: string, call: CallContext) {
    const doc = await this.visible(id, call);
    const view = presentInvestigation(doc, call.caller);
    if (!view.subject.masked) await this.auditPiiRead(doc, call, 'investigation.subject');
    return view;
  }

  async list(q: ListQuery, call: CallContext) {
    const items: CountedInvestigation[] = [];
    let cursor = q.page_token;
    let scannedAll = false;
    // Restricted investigations the caller may not see are skipped, so keep reading (bounded)
    // until the page is full or the collection is exhausted.
    for (let round = 0; round < 10 && items.length < q.page_size && !scannedAll; round++) {
      const batch = await this.deps.store.list(q, q.page_size, cursor);
      let consumed = 0;
      for (const doc of batch) {
        consumed++;
        cursor = doc.id;
        if (this.canSee(doc, call.caller)) items.push(doc);
        if (items.length === q.page_size) break;
      }
      scannedAll = batch.length < q.page_size && consumed === batch.length;
    }
    const shown = canReadPii(call.caller) ? await this.deps.store.revealSubjects(items) : items;
    const views = shown.map((d) => presentSummary(d, call.caller));
    if (views.some((v) => !v.subject.masked)) {
      await this.deps.audit.write({
        ...this.auditBase(call),
        action: 'pii.read',
        resource: 'investigations',
        outcome: 'allowed',
        reason: null,
        details: { field: 'investigation.subject', investigations: items.filter((d) => d.subject.type !== 'user_id' && d.subject.type !== 'voice_id').map((d) => d.id) },
      });
    }
    return { items: views, next_page_token: scannedAll || !cursor ? null : cursor };
  }

  private auditBase(call: CallContext) {
    return { actor: call.caller.email, roles: call.caller.roles, request_id: call.requestId, trace: call.trace, source_ip: call.sourceIp };
  }

  private async auditPiiRead(doc: InvestigationDoc, call: CallContext, field: string): Promise<void> {
    await this.deps.audit.write({
      ...this.auditBase(call),
      action: 'pii.read',
      resource: `investigations/${doc.id}`,
      outcome: 'allowed',
      reason: null,
      details: { field, subject_type: doc.subject.type },
    });
  }

  private async change(id: string, call: CallContext, fn: (doc: InvestigationDoc) => Mutation) {
    // Events come from the committed attempt's result: a retried attempt's plan never happened.
    const { doc, events } = await this.deps.store.commit(
      id,
      (current) => {
        if (!this.canSee(current, call.caller)) throw new NotFoundError('Investigation');
        return fn(current);
      },
      call.precondition,
    );
    await this.dispatch(events);
    const view = presentInvestigation(await this.revealFor(doc, call.caller), call.caller);
    if (!view.subject.masked) await this.auditPiiRead(doc, call, 'investigation.subject');
    return view;
  }

  cancel(id: string, call: CallContext) {
    const now = this.deps.clock.now();
    return this.change(id, call, (doc) => {
      const own = doc.created_by === call.caller.email || doc.assignee === call.caller.email;
      if (!own && !call.caller.can('investigations.assign')) throw new ForbiddenError('investigations.cancel (own or assigned investigations)');
      return life.cancel(doc, call.caller.email, now);
    });
  }

  async assign(id: string, assignee: string, call: CallContext) {
    if (!(await this.deps.isKnownPrincipal(assignee))) throw new ValidationError('body.assignee: not a principal with a role on this platform', [{ path: 'body.assignee', message: 'unknown principal' }]);
    const now = this.deps.clock.now();
    return this.change(id, call, (doc) => life.assign(doc, call.caller.email, assignee, now));
  }

  close(id: string, decision: { decision: Decision; rationale: string }, call: CallContext) {
    const now = this.deps.clock.now();
    return this.change(id, call, (doc) => life.close(doc, call.caller.email, decision, now));
  }

  reopen(id: string, call: CallContext) {
    const now = this.deps.clock.now();
    return this.change(id, call, (doc) => life.reopen(doc, call.caller.email, now));
  }

  async comment(id: string, body: string, call: CallContext) {
    const now = this.deps.clock.now();
    const comment = { id: newId('cmt', now.getTime()), author: call.caller.email, body, created_at: now.toISOString() };
    const events = await this.deps.store.addComment(id, comment, (doc) => {
      if (!this.canSee(doc, call.caller)) throw new NotFoundError('Investigation');
      return life.commented(doc, call.caller.email, comment.id, now);
    });
    await this.dispatch(events);
    return comment;
  }

  async comments(id: string, call: CallContext) {
    await this.visible(id, call);
    return { items: await this.deps.store.listComments(id) };
  }
}
