import type { Firestore } from '@google-cloud/firestore';
import type { AuditLog } from '../audit/model.js';
import type { EventPublisher } from '../events/port.js';
import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import type { Runtime } from '../runtime/index.js';
import type { ErasureLedgerReplay } from '../backup/ledger.js';
import { DeletionGate } from './gate.js';
import { HoldService } from './holds/service.js';
import { HoldStore } from './holds/store.js';
import { ErasureService } from './erasure/service.js';
import { createErasureLedgerReplay } from './erasure/ledger.js';
import { openVault, type Vault } from './erasure/vault.js';
import { RetentionService } from './retention/service.js';
import { PolicyStore } from './retention/store.js';
import { subjectCryptoFrom, type SubjectCrypto } from './subject-crypto.js';
import { InvestigationPurge } from './purge.js';
import { ErasureExtensions } from './erasure/extension.js';

export { DeletionGate, HoldSet } from './gate.js';
export { LegalHoldError, PolicyLockedError } from './errors.js';
export { holdsCovering } from './holds/model.js';
export { replayErasureLedger, createErasureLedgerReplay } from './erasure/ledger.js';
export { isExpired } from './retention/plan.js';

/** Backups keep ciphertext this long at most: the logical exports' bucket lifecycle (terraform/modules/platform/storage.tf). */
export const DEFAULT_BACKUP_RETENTION_DAYS = 90;

export interface ComplianceDeps {
  db: Firestore;
  crypto: SubjectCrypto;
  audit: AuditLog;
  publisher: EventPublisher;
  clock: Clock;
  logger: Logger;
  backupRetentionDays?: number;
  /** The erasure ledger and key escrow, outside the database (shared/compliance/erasure/vault.ts). */
  vault: Vault;
}

export interface Compliance {
  gate: DeletionGate;
  holds: HoldService;
  retention: RetentionService;
  erasure: ErasureService;
  /** Extending an erasure deadline once (GDPR art. 12(3)). */
  extensions: ErasureExtensions;
  purge: InvestigationPurge;
  crypto: SubjectCrypto;
  /** The hook shared/backup/restore.ts calls after a restore, before data is served. */
  replayLedger: ErasureLedgerReplay;
}

export function buildCompliance(deps: ComplianceDeps): Compliance {
  const logger = deps.logger.child({ component: 'compliance' });
  const holdStore = new HoldStore(deps.db);
  const gate = new DeletionGate({ holds: holdStore, audit: deps.audit });
  const policies = new PolicyStore(deps.db);
  return {
    gate,
    crypto: deps.crypto,
    holds: new HoldService({ db: deps.db, store: holdStore, crypto: deps.crypto, audit: deps.audit, publisher: deps.publisher, clock: deps.clock, logger }),
    retention: new RetentionService({ db: deps.db, store: policies, policies, gate, audit: deps.audit, clock: deps.clock, logger, publisher: deps.publisher }),
    erasure: new ErasureService({
      db: deps.db,
      crypto: deps.crypto,
      gate,
      audit: deps.audit,
      publisher: deps.publisher,
      clock: deps.clock,
      logger,
      backupRetentionDays: deps.backupRetentionDays ?? DEFAULT_BACKUP_RETENTION_DAYS,
      vault: deps.vault,
    }),
    extensions: new ErasureExtensions({ db: deps.db, audit: deps.audit, clock: deps.clock }),
    purge: new InvestigationPurge({ db: deps.db, gate, audit: deps.audit }),
    // The blind index finds mentions on any database; sealed comments open where the key is known.
    replayLedger: createErasureLedgerReplay(() => deps.crypto),
  };
}

const built = new WeakMap<Runtime, Compliance>();

/**
 * Compliance services for a runtime, built once on first use, on the runtime's data-protection
 * service (the same key cache, so a destroyed key leaves no cached copy in this process).
 */
export function complianceFor(rt: Runtime): Compliance {
  let c = built.get(rt);
  if (!c) {
    c = buildCompliance({ db: rt.firestore(), crypto: subjectCryptoFrom(rt.dataProtection), audit: rt.audit, publisher: rt.publisher, clock: rt.clock, logger: rt.logger, vault: openVault(rt.config, { clock: rt.clock }) });
    built.set(rt, c);
  }
  return c;
}
