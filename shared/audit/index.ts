import { join } from 'node:path';
import type { Clock } from '../platform/clock.js';
import type { Config } from '../platform/config.js';
import type { Logger } from '../platform/logger.js';
import type { SecretStore } from '../secrets/port.js';
import { ChainAnchor } from './anchor.js';
import { CHECKPOINT_KEY_SECRET, checkpointSigner, generateCheckpointKey } from './checkpoint.js';
import { GcsCheckpointSink, LocalCheckpointSink, type CheckpointSink } from './checkpoint-sink.js';
import { CloudLoggingAuditLog } from './cloud-logging.js';
import { LocalFileAuditLog } from './local-file.js';
import type { AuditLog } from './model.js';

export type ClosableAuditLog = AuditLog & { close(): Promise<void> };

/** `<dataDir>/audit/audit.jsonl`: the local audit file (one chain). */
export const localAuditFile = (dataDir: string) => join(dataDir, 'audit', 'audit.jsonl');
/** `<dataDir>/audit-checkpoints/`: the local checkpoint sink, outside the audit folder. */
export const localCheckpointDir = (dataDir: string) => join(dataDir, 'audit-checkpoints');

/** Where checkpoints go: the configured bucket, else (local audit) a folder beside the audit folder. */
export function createCheckpointSink(config: Pick<Config, 'auditCheckpoints' | 'adapters' | 'dataDir' | 'projectId'>): CheckpointSink | null {
  const { bucket, prefix } = config.auditCheckpoints;
  if (bucket) return new GcsCheckpointSink({ bucket, prefix, projectId: config.projectId });
  if (config.adapters.audit === 'local') return new LocalCheckpointSink(localCheckpointDir(config.dataDir));
  return null;
}

/**
 * The audit log the configuration selects, its chain anchored by signed checkpoints. The signing
 * key is the secret `tsi-audit-checkpoint-key` (local: created on first use in the git-ignored
 * data folder; production: provisioned in Secret Manager). Used by the composition root and by
 * CLI commands that write audit records, so every writer anchors the same way.
 */
export function createAuditLog(config: Config, deps: { clock: Clock; secrets: SecretStore; logger: Logger; instance?: string }): ClosableAuditLog {
  const sink = createCheckpointSink(config);
  const logger = deps.logger.child({ component: 'audit' });
  if (!sink) logger.warn('audit checkpoints are off: set TSI_AUDIT_CHECKPOINT_BUCKET; the chain is not anchored', { audit: config.adapters.audit });
  const anchor = sink
    ? new ChainAnchor({
        sink,
        signer: async () => checkpointSigner(await deps.secrets.getOrCreate(CHECKPOINT_KEY_SECRET, generateCheckpointKey)),
        clock: deps.clock,
        logger,
        every: config.auditCheckpoints.every,
        intervalMs: config.auditCheckpoints.intervalSeconds * 1000,
      })
    : undefined;
  return config.adapters.audit === 'cloud-logging'
    ? new CloudLoggingAuditLog({ projectId: config.projectId, logName: config.auditLogName, clock: deps.clock, ...(deps.instance ? { instance: deps.instance } : {}), ...(anchor ? { anchor } : {}) })
    : new LocalFileAuditLog(localAuditFile(config.dataDir), deps.clock, anchor);
}
