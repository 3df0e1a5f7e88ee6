import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Firestore } from '@google-cloud/firestore';
import { complianceFor } from '../../shared/compliance/index.js';
import { envelopeKey } from '../../shared/crypto/envelope.js';
import type { InvestigationDoc } from '../../shared/investigations/model.js';
import { ManualClock } from '../../shared/platform/clock.js';
import { loadConfig } from '../../shared/platform/config.js';
import { newId } from '../../shared/platform/ids.js';
import { buildRuntime, type Runtime } from '../../shared/runtime/index.js';
import { LocalFirestoreServer } from '../../shared/store/emulator-server.js';
import { MemoryPublisher, compliance, quiet } from './compliance-fixture.js';

/**
 * Erasure in one runtime instance while another writes for the same subject (issue 12): the other
 * instance holds the subject's key in its cache, but nothing is ever sealed under a destroyed key.
 * Two `buildRuntime` instances, each with its own Firestore client and key cache, one emulator.
 */
const JOHN = { type: 'email' as const, value: 'john.doe@example.com' };

describe('erasure racing writes from another runtime instance', () => {
  let dir: string;
  let server: LocalFirestoreServer;
  let a: Runtime;
  let b: Runtime;
  const clock = new ManualClock(new Date('2026-03-01T09:00:00Z'));

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsi-race-'));
    server = new LocalFirestoreServer({ dataDir: dir, logger: quiet });
    const { host, port } = await server.start(0);
    const config = loadConfig({ TSI_MODE: 'local', TSI_DATA_DIR: dir } as NodeJS.ProcessEnv);
    const make = () => buildRuntime(config, { emulatorHost: `${host}:${port}`, publisher: new MemoryPublisher(), clock, logger: quiet });
    a = make();
    b = make();
  });
  afterEach(async () => {
    await a.close();
    await b.close();
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function investigation(question: string | null = null): InvestigationDoc {
    const at = clock.now().toISOString();
    return {
      id: newId('inv', clock.now().getTime() + Math.floor(Math.random() * 1000)),
      status: 'queued', subject: { ...JOHN }, question, window_days: 30, sensitivity: 'standard', created_by: 'analyst@example.com', team: null,
      created_at: at, updated_at: at, assignee: null, steps: [], findings: [], risk: null, recommended_action: null, summary: null,
      resolved_accounts: [], failure_reason: null, decision: null, attempts: 0, lease: null, comments_count: 0, history: [],
    };
  }
  const create = (rt: Runtime, doc: InvestigationDoc) => rt.store.create(doc, [], () => ({ status: 202, body: {} }));
  const comment = (rt: Runtime, id: string, body: string) =>
    rt.store.addComment(id, { id: newId('cmt', Date.now() + Math.floor(Math.random() * 1000)), author: 'analyst@example.com', body, created_at: clock.now().toISOString() }, (d) => ({ doc: { ...d, comments_count: d.comments_count + 1 }, events: [] }));
  const erase = async (rt: Runtime) => {
    const c = complianceFor(rt);
    const { doc } = await c.erasure.request(JOHN, compliance);
    return c.erasure.execute(doc.id);
  };

  /** Every envelope stored about the subject, with whether its key generation is the live one. */
  async function envelopes(db: Firestore) {
    const keys = new Map((await db.collection('subject_keys').get()).docs.map((d) => [d.id, d.data()]));
    const live = (env: string) => {
      const k = envelopeKey(env);
      const doc = keys.get(k.keyId);
      return doc?.state === 'active' && Number(doc.generation) === k.generation;
    };
    const out: { path: string; live: boolean; erased: boolean }[] = [];
    for (const d of (await db.collection('investigations').get()).docs) {
      const data = d.data();
      const erased = data.erased_at !== undefined;
      for (const env of [data.subject?.sealed, data.question_sealed].filter((e): e is string => typeof e === 'string')) out.push({ path: d.ref.path, live: live(env), erased });
      for (const c of (await d.ref.collection('comments').get()).docs) out.push({ path: c.ref.path, live: live(String(c.get('body_sealed'))), erased });
    }
    return out;
  }

  it('a write after the erasure, from an instance that still caches the destroyed key, is sealed under a fresh key', async () => {
    const first = investigation('is john.doe@example.com sharing?');
    await create(b, first); // b now holds John's generation-1 key in its cache
    expect((await erase(a)).status).toBe('completed');

    const second = investigation('and now?');
    await create(b, second);
    await comment(b, second.id, 'called john.doe@example.com again');
    const stored = (await a.firestore().collection('investigations').doc(second.id).get()).data()!;
    expect(envelopeKey(stored.subject.sealed).generation).toBe(2);
    // Readable through the other instance: not sealed under the destroyed key.
    const read = await a.store.reveal((await a.store.get(second.id))!, { subject: true, question: true });
    expect(read.subject).toEqual({ type: 'email', value: JOHN.value });
    expect(read.question).toBe('and now?');
    expect((await a.store.listComments(second.id)).map((c) => c.body)).toEqual(['called john.doe@example.com again']);
    // The first investigation was erased, and stays so.
    expect((await a.store.reveal((await a.store.get(first.id))!, { subject: true, question: false })).subject).toMatchObject({ value: '[erased]' });
  });

  it('writes in parallel with the erasure: every stored envelope is under a live key, or belongs to erased data', async () => {
    const seed = investigation('seed');
    await create(b, seed);
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 12; i++) writes.push(create(b, investigation(`question ${i}`)));
    for (let i = 0; i < 8; i++) writes.push(comment(b, seed.id, `comment ${i}`).catch((e: unknown) => e));
    const [erasure, ...results] = await Promise.all([erase(a), ...writes]);
    expect((erasure as { status: string }).status).toBe('completed');
    // Creates never fail for a key change (they are sealed again); nothing failed for another reason.
    expect(results.filter((r) => r instanceof Error && !/Investigation not found/.test(String(r)))).toEqual([]);

    const found = await envelopes(a.firestore());
    expect(found.length).toBeGreaterThan(0);
    const bad = found.filter((e) => !e.live && !e.erased);
    expect(bad).toEqual([]);
    // And each live one really opens through the other instance.
    for (const d of (await a.firestore().collection('investigations').get()).docs) {
      if (d.get('erased_at') !== undefined) continue;
      const read = await a.store.reveal((await a.store.get(d.id))!, { subject: true, question: true });
      expect(read.subject).toEqual({ type: 'email', value: JOHN.value });
    }
  });
});
