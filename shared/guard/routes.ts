import { z } from 'zod';
import type { StepRecord } from '../agent/model.js';
import type { InvestigationService } from '../investigations/service.js';
import type { InvestigationStore } from '../investigations/store.js';
import type { Clock } from '../platform/clock.js';
import { ConflictError, FeatureDisabledError } from '../platform/errors.js';
import type { RequestContext, Route } from '../platform/http.js';
import type { ParamValue, Warehouse } from '../warehouse/port.js';
import { GuardRefusalError } from './errors.js';
import { AdhocResultSchema } from '../api/responses.js';

/**
 * Ad-hoc SQL for leads: `POST /v1/investigations/{id}/queries {sql, params?, max_rows?}` runs the
 * lead's BigQuery SQL (contract table names) through the same guard as the agent's steps, on the
 * lead's own roles, and appends it to the investigation as an `adhoc` step with its lineage.
 * Refusals are 422 problem+json (`warehouse-guard-refused`, `rule`, `violations`,
 * `estimated_bytes`, `budget_bytes`) and are recorded as failed steps too.
 *
 * The SQL text and the rows are returned to the caller but not stored in the investigation: the
 * text can hold personal data typed as literals; the step keeps the hash, tables, columns, masked
 * parameters and the figures.
 */
export const ADHOC_PERMISSION = 'warehouse.query_adhoc';
export const ADHOC_MAX_ROWS = 1_000;

const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const AdhocParam = z.union([
  z.string().max(1_000),
  z.number().finite(),
  z.boolean(),
  z.null(),
  z.array(z.string().max(1_000)).max(1_000),
  z.strictObject({ timestamp: z.iso.datetime({ offset: true }) }).transform((v) => new Date(v.timestamp)),
]);

export const AdhocQuerySchema = z.strictObject({
  sql: z.string().trim().min(1).max(20_000),
  params: z
    .record(z.string().regex(NAME, 'parameter names are letters, digits and _'), AdhocParam)
    .refine((p) => Object.keys(p).length <= 50, 'at most 50 parameters')
    .default({}),
  max_rows: z.number().int().min(1).max(ADHOC_MAX_ROWS).default(100),
});

export interface AdhocDeps {
  service: InvestigationService;
  store: InvestigationStore;
  warehouse: Warehouse;
  clock: Clock;
  /** The `adhoc_sql` kill switch (shared/flags). */
  isEnabled?: () => Promise<boolean>;
}

export function adhocQueryRoutes(deps: AdhocDeps): Route[] {
  return [
    {
      method: 'POST',
      path: '/v1/investigations/{id}/queries',
      action: 'investigations.query_adhoc',
      // Runs warehouse SQL: its own, smaller budget (shared/limits/route-limits.ts).
      rateLimit: 'query',
      auth: 'required',
      summary: 'Run a lead\'s ad-hoc SQL through the warehouse guard and append it as a step',
      description: 'BigQuery SQL over the contract tables, parameterised. Refusals are 422 `warehouse-guard-refused` with the rule and violations.',
      tags: ['investigations'],
      request: { params: z.strictObject({ id: z.string().min(1).max(128) }), body: AdhocQuerySchema },
      responses: { 200: AdhocResultSchema },
      async handle(ctx) {
        const caller = ctx.require(ADHOC_PERMISSION);
        if (deps.isEnabled && !(await deps.isEnabled())) throw new FeatureDisabledError('adhoc_sql');
        const id = ctx.params.id ?? '';
        ctx.resource = `investigations/${id}`;
        const input = ctx.body(AdhocQuerySchema);
        const call = { caller, requestId: ctx.requestId, trace: ctx.trace, sourceIp: ctx.sourceIp };
        const doc = await deps.service.visible(id, call);
        if (doc.status === 'queued' || doc.status === 'running') {
          throw new ConflictError('investigation-running', 'Ad-hoc queries can be added once the investigation run has finished.', { status_now: doc.status });
        }
        const startedAt = deps.clock.now().toISOString();
        try {
          const result = await deps.warehouse.query({
            label: 'adhoc',
            sql: input.sql,
            params: input.params as Record<string, ParamValue>,
            maxRows: input.max_rows,
            actor: { principal: caller.email, roles: caller.roles },
            origin: 'adhoc',
            resource: ctx.resource,
            requestId: ctx.requestId,
            trace: ctx.trace,
            sourceIp: ctx.sourceIp,
          });
          const lineage = result.lineage;
          const index = await append(deps, ctx, id, {
            name: 'adhoc_query',
            description: `Ad-hoc SQL by ${caller.email}.`,
            params: lineage.params,
            status: 'ok',
            rows: result.rows.length,
            estimated_bytes: result.estimatedBytes,
            bytes_processed: result.bytesProcessed,
            duration_ms: result.durationMs,
            sql_hash: lineage.sql_hash,
            tables: lineage.tables,
            freshness: Object.fromEntries(lineage.tables.map((t) => [t, null])),
            started_at: startedAt,
            kind: 'adhoc',
            lineage,
          });
          return { status: 200, body: { step: index, rows: result.rows, truncated: result.truncated, lineage } };
        } catch (error) {
          if (error instanceof GuardRefusalError) {
            ctx.auditReason = `guard:${error.rule}`;
            await append(deps, ctx, id, {
              name: 'adhoc_query',
              description: `Ad-hoc SQL by ${caller.email}, refused by the warehouse guard.`,
              params: {},
              status: 'failed',
              rows: 0,
              estimated_bytes: typeof error.extras.estimated_bytes === 'number' ? error.extras.estimated_bytes : 0,
              bytes_processed: null,
              duration_ms: 0,
              sql_hash: '0'.repeat(64),
              tables: [],
              freshness: {},
              started_at: startedAt,
              kind: 'adhoc',
              refused_by: error.rule,
              error: error.detail ?? error.title,
            }).catch(() => undefined);
          }
          throw error;
        }
      },
    },
  ];
}

async function append(deps: AdhocDeps, ctx: RequestContext, id: string, step: Omit<StepRecord, 'index'>): Promise<number> {
  let index = 0;
  await deps.store.mutate(id, (current) => {
    if (!deps.service.canSee(current, ctx.who)) return null;
    index = Math.max(0, ...current.steps.map((s) => s.index)) + 1;
    return { doc: { ...current, steps: [...current.steps, { ...step, index }], updated_at: deps.clock.now().toISOString() }, events: [] };
  });
  return index;
}
