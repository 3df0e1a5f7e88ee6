import { z } from 'zod';
import type { Route } from './http.js';

const HealthSchema = z.object({ status: z.literal('ok') });
const ReadinessSchema = z.object({
  status: z.enum(['ready', 'not-ready']),
  checks: z.array(z.object({ name: z.string(), ok: z.boolean(), latency_ms: z.number(), error: z.string().optional() })),
});

export interface HealthCheck {
  name: string;
  check(): Promise<void>;
}

export interface CheckResult {
  name: string;
  ok: boolean;
  latency_ms: number;
  error?: string;
}

async function run(check: HealthCheck, timeoutMs: number): Promise<CheckResult> {
  const started = performance.now();
  try {
    await Promise.race([
      check.check(),
      new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs).unref()),
    ]);
    return { name: check.name, ok: true, latency_ms: Math.round(performance.now() - started) };
  } catch (error) {
    // Only the error class and a short message: health output is unauthenticated.
    const message = error instanceof Error ? error.message.slice(0, 120) : 'failed';
    return { name: check.name, ok: false, latency_ms: Math.round(performance.now() - started), error: message };
  }
}

/** Liveness says the process serves; readiness really touches each dependency and times it. */
export function healthRoutes(checks: HealthCheck[], timeoutMs = 5000): Route[] {
  return [
    {
      method: 'GET',
      path: '/healthz',
      action: 'health.live',
      auth: 'none',
      summary: 'Liveness',
      tags: ['health'],
      request: {},
      responses: { 200: HealthSchema },
      async handle() {
        return { status: 200, body: { status: 'ok' } };
      },
    },
    {
      method: 'GET',
      path: '/readyz',
      action: 'health.ready',
      auth: 'none',
      summary: 'Readiness: touches every dependency and times it',
      tags: ['health'],
      request: {},
      responses: { 200: ReadinessSchema, 503: { schema: ReadinessSchema, description: 'A dependency failed.' } },
      async handle() {
        const results = await Promise.all(checks.map((c) => run(c, timeoutMs)));
        const ok = results.every((r) => r.ok);
        return { status: ok ? 200 : 503, body: { status: ok ? 'ready' : 'not-ready', checks: results } };
      },
    },
  ];
}
