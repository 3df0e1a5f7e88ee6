import { readEmulatorEndpoint } from '../shared/backup/local-endpoint.js';
import { wrapForDelivery, PUBSUB_MESSAGE_PUBLISHED } from '../shared/events/envelope.js';
import { EventTypes, makeEvent } from '../shared/events/model.js';
import type { EventPublisher } from '../shared/events/port.js';
import { InvestigationStore } from '../shared/investigations/store.js';
import { loadConfig } from '../shared/platform/config.js';
import { Logger } from '../shared/platform/logger.js';
import { countOf, type QualityReport } from '../shared/quality/checks.js';
import { readLatestQualityReport, runQualityJob } from '../shared/quality/job.js';
import { buildRuntime } from '../shared/runtime/index.js';
import { LocalFirestoreServer } from '../shared/store/emulator-server.js';
import { PROJECT_INDEX_FILE } from '../shared/store/emulator/indexes.js';
import { createFirestore } from '../shared/store/firestore.js';
import { QUALITY_HELP, type QualityCommand } from './quality-args.js';

/**
 * `tsi quality check [--json]`: runs the data-quality checks now and prints them; exit 1 when a
 * check fails. With the local stack running, it triggers the stack's data-quality function (as
 * Cloud Scheduler would) and reads the report it stored, so the stack's audit writer is the only
 * one; with the stack stopped (or in production mode, with application default credentials),
 * it runs the same job directly on the data.
 */

const MARK = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL' } as const;

export function renderQualityReport(r: QualityReport): string {
  const width = Math.max(...r.checks.map((c) => c.name.length), 10);
  const counts = countOf(r);
  const lines = [`data quality at ${r.checked_at}: ${counts.ok} ok, ${counts.warn} warn, ${counts.fail} fail`];
  for (const c of r.checks) lines.push(`  ${MARK[c.status]}  ${c.name.padEnd(width)}  ${c.detail}`);
  return lines.join('\n') + '\n';
}

interface Io {
  stdout: { write(chunk: string): unknown };
  stderr: { write(chunk: string): unknown };
  env: Record<string, string | undefined>;
  fetch?: typeof fetch;
}

/** The job publishes nothing; the runtime still wants a transport. */
const NO_PUBLISHER: EventPublisher = {
  kind: 'local',
  publish: async () => {
    throw new Error('the data-quality check publishes no events');
  },
  ping: async () => undefined,
  close: async () => undefined,
};

export async function runQualityCommand(command: QualityCommand, io: Io): Promise<number> {
  if (command.action === 'help') {
    io.stdout.write(`usage: ${QUALITY_HELP}\n`);
    return 0;
  }
  const config = loadConfig(io.env as NodeJS.ProcessEnv);
  const logger = new Logger({ component: 'data-quality' }, (line) => io.stderr.write(line + '\n'), (io.env.LOG_LEVEL?.toUpperCase() as 'INFO' | undefined) ?? 'ERROR');
  const running = config.mode === 'local' ? readEmulatorEndpoint(config.dataDir) : null;
  let report: QualityReport | null;
  if (running) {
    const url = (command.url ?? io.env.TSI_URL ?? `http://localhost:${config.port}`).replace(/\/$/, '');
    const event = makeEvent(EventTypes.schedulerDataQuality, undefined, { job: 'data_quality' }, new Date());
    const res = await (io.fetch ?? fetch)(`${url}/_functions/data-quality`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'ce-specversion': '1.0', 'ce-id': event.id, 'ce-type': PUBSUB_MESSAGE_PUBLISHED, 'ce-source': '//tsi.platform/cli', 'ce-time': event.time },
      body: JSON.stringify(wrapForDelivery(event, `projects/${config.projectId}/subscriptions/cli-quality`, event.id, new Date())),
    });
    await res.arrayBuffer();
    if (!res.ok) {
      io.stderr.write(`error: the stack's data-quality function answered HTTP ${res.status} (see the stack's log)\n`);
      return 1;
    }
    const db = createFirestore({ projectId: config.projectId, databaseId: config.firestoreDatabase, emulatorHost: `${running.host}:${running.port}` });
    try {
      report = await readLatestQualityReport(db);
    } finally {
      await db.terminate();
    }
  } else {
    const server = config.adapters.store === 'emulator' ? new LocalFirestoreServer({ dataDir: config.dataDir, logger, indexes: PROJECT_INDEX_FILE }) : null;
    const endpoint = server ? await server.start(0) : null;
    const rt = buildRuntime(config, { logger, publisher: NO_PUBLISHER, ...(endpoint ? { emulatorHost: `${endpoint.host}:${endpoint.port}` } : {}) });
    try {
      const store = new InvestigationStore(rt.firestore(), undefined, rt.clock);
      report = await runQualityJob({ warehouse: rt.warehouse, store, db: rt.firestore(), audit: rt.audit, clock: rt.clock, logger, requestId: null });
    } finally {
      await rt.close();
      await server?.stop();
    }
  }
  if (!report) {
    io.stderr.write('error: no data-quality report was stored\n');
    return 1;
  }
  io.stdout.write(command.json ? JSON.stringify(report, null, 2) + '\n' : renderQualityReport(report));
  return countOf(report).fail > 0 ? 1 : 0;
}
