import fs from 'node:fs';
import { createRequire } from 'node:module';
import { UnimplementedFirestoreService } from '@firestore-emulator/proto/dist/google/firestore/v1/firestore.js';
import { ConfigError } from '../../platform/errors.js';

/**
 * What the shim takes from the emulator packages: only `@firestore-emulator/proto` — the
 * generated Firestore v1 messages and the gRPC service definition (the protocol layer of
 * `@firestore-emulator/server`, same version). The server package's in-memory engine is not used
 * (see docs/decisions/0002-local-firestore-emulator.md). Checked at start-up so an upgrade fails
 * loudly instead of silently changing behaviour.
 */
export const TESTED_PROTO_VERSIONS: readonly string[] = ['0.3.15'];

const SERVICE = '/google.firestore.v1.Firestore';
/** Methods we serve; everything else answers UNIMPLEMENTED. */
export const SERVED_METHODS = [
  'BatchGetDocuments',
  'RunQuery',
  'RunAggregationQuery',
  'BeginTransaction',
  'Commit',
  'Rollback',
  'Listen',
  'ListCollectionIds',
  'ListDocuments',
  'BatchWrite',
] as const;

export type ServiceDefinition = typeof UnimplementedFirestoreService.definition;

export function loadServiceDefinition(): ServiceDefinition {
  const fail = (what: string): never => {
    throw new ConfigError(
      `@firestore-emulator/proto is not a version the local Firestore was verified against (${TESTED_PROTO_VERSIONS.join(', ')}): ${what}. ` +
        'Re-check shared/store/emulator/proto.ts against the generated classes, run tests/integration/store.*.test.ts, then add the version to TESTED_PROTO_VERSIONS.',
    );
  };
  const require = createRequire(import.meta.url);
  const { version } = JSON.parse(fs.readFileSync(require.resolve('@firestore-emulator/proto/package.json'), 'utf8')) as { version?: unknown };
  if (typeof version !== 'string' || !TESTED_PROTO_VERSIONS.includes(version)) fail(`found ${String(version)}`);
  const definition = UnimplementedFirestoreService.definition;
  for (const m of SERVED_METHODS) {
    const method = definition[m];
    if (method?.path !== `${SERVICE}/${m}` || method.responseStream !== (m === 'BatchGetDocuments' || m.startsWith('Run') || m === 'Listen')) {
      fail(`the service definition of ${m} changed`);
    }
  }
  return definition;
}
