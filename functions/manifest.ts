import { z } from 'zod';
import raw from './manifest.json' with { type: 'json' };

/**
 * The function manifest (functions/manifest.json), validated. The JSON is the one list of
 * functions: Terraform reads it with `jsondecode(file(...))`, the bundle build and the policy tests
 * read it too, and each function validates its start-up config against its own entry.
 */
const EnvName = z.string().regex(/^[A-Z][A-Z0-9_]*$/);
const SecretId = z.string().regex(/^[a-z][a-z0-9-]{0,62}$/);
const EventName = z.string().regex(/^[a-z_]+(\.[a-z_]+)+$/);

export const ACCESS = ['firestore', 'events-publish', 'audit-write', 'audit-read', 'bigquery-jobs', 'warehouse-read', 'kms', 'firestore-export', 'vault'] as const;
export type Access = (typeof ACCESS)[number];

const TriggerSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('http') }),
  /** Pushed from a topic: the catalogue names to deliver, or a raw Pub/Sub filter (max 256 bytes). */
  z.strictObject({ kind: z.literal('event'), topic: z.string().min(1), event_names: z.array(EventName).min(1).optional(), filter: z.string().min(1).max(256).optional() }),
  z.strictObject({ kind: z.literal('schedule'), event_name: EventName }),
]);

export const FunctionSpecSchema = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9-]{1,30}$/),
  status: z.enum(['active', 'planned']),
  description: z.string().min(1),
  source: z.string().regex(/^functions\/[a-z0-9-]+\/index\.ts$/),
  entry_point: z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/),
  trigger: TriggerSchema,
  readiness_path: z.string().startsWith('/').optional(),
  /** Settings the function needs in production (plain values, set by Terraform). */
  env: z.array(EnvName).min(1),
  /** Env name -> Secret Manager secret id, mounted by Terraform as a secret reference. */
  secrets: z.record(EnvName, SecretId),
  access: z.array(z.enum(ACCESS)),
});
export type FunctionSpec = z.infer<typeof FunctionSpecSchema>;

export const ManifestSchema = z
  .strictObject({
    $comment: z.string().optional(),
    topics: z.record(z.string(), z.strictObject({ name: z.string().regex(/^[a-z][a-z0-9-]{2,254}$/), description: z.string() })),
    functions: z.array(FunctionSpecSchema).min(1),
  })
  .superRefine((m, ctx) => {
    const names = new Set<string>();
    for (const [i, f] of m.functions.entries()) {
      if (names.has(f.name)) ctx.addIssue({ code: 'custom', path: ['functions', i, 'name'], message: `duplicate function ${f.name}` });
      names.add(f.name);
      if (f.trigger.kind === 'event' && !m.topics[f.trigger.topic]) {
        ctx.addIssue({ code: 'custom', path: ['functions', i, 'trigger', 'topic'], message: `unknown topic ${f.trigger.topic}` });
      }
      if (f.trigger.kind === 'event' && !f.trigger.event_names === !f.trigger.filter) {
        ctx.addIssue({ code: 'custom', path: ['functions', i, 'trigger'], message: 'an event trigger needs exactly one of event_names or filter' });
      }
      for (const key of Object.keys(f.secrets)) {
        if (f.env.includes(key)) ctx.addIssue({ code: 'custom', path: ['functions', i, 'secrets', key], message: `${key} is a secret and must not also be a plain env setting` });
      }
    }
  });
export type Manifest = z.infer<typeof ManifestSchema>;

export const MANIFEST: Manifest = ManifestSchema.parse(raw);

export function functionSpec(name: string): FunctionSpec {
  const spec = MANIFEST.functions.find((f) => f.name === name);
  if (!spec) throw new Error(`Function "${name}" is not in functions/manifest.json.`);
  return spec;
}
