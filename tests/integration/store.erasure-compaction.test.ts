import fs from 'node:fs';
import path from 'node:path';
import { compliance, seedInvestigation, startFixture, type Fixture } from './compliance-fixture.js';

/**
 * The embedded Firestore keeps every version of every document in its write-ahead log until it
 * compacts. After an erasure the files on disk must hold nothing the erasure replaced: no
 * plaintext of the subject, no old version of its data key (issue 16).
 */
const JOHN = { type: 'email' as const, value: 'john.doe@example.com' };
const PLAINTEXT = /john\.doe@example\.com|called john today|john admitted it/i;

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

/** Every file of the emulator's data folder, as text (latin1: byte for byte). */
function dataFolderText(f: Fixture): string {
  return filesUnder(path.join(f.dir, 'firestore')).map((file) => fs.readFileSync(file).toString('latin1')).join('\n');
}

async function seedAndErase(f: Fixture): Promise<{ before: string; wrappedKey: string }> {
  await seedInvestigation(
    f,
    JOHN,
    { status: 'closed', summary: 'Account of john.doe@example.com shares a card.', decision: { outcome: 'warned', rationale: 'john admitted it', closed_by: 'lead@example.com', closed_at: f.clock.now().toISOString() } },
    { comments: ['called john today'] },
  );
  const wrappedKey = String((await f.db.collection('subject_keys').doc(await f.dp.blindIndex(JOHN)).get()).get('wrapped_dek'));
  const before = dataFolderText(f);
  const { doc } = await f.compliance.erasure.request(JOHN, compliance);
  expect((await f.compliance.erasure.execute(doc.id)).status).toBe('completed');
  return { before, wrappedKey };
}

describe('the embedded Firestore after an erasure', () => {
  let f: Fixture | undefined;
  afterEach(async () => {
    await f?.stop();
    f = undefined;
  });

  it('keeps no plaintext and no old data key in its files (the log is compacted)', async () => {
    f = await startFixture();
    const { before, wrappedKey } = await seedAndErase(f);
    expect(before).toMatch(PLAINTEXT); // the log held them before
    expect(before).toContain(wrappedKey);
    const after = dataFolderText(f);
    expect(after).not.toMatch(PLAINTEXT);
    expect(after).not.toContain(wrappedKey);
    // Still a working database: the erasure request is there after the compaction.
    expect((await f.db.collection('erasure_requests').get()).size).toBe(1);
  });

  it('without compaction after erasure, the log would still hold them (the control)', async () => {
    f = await startFixture(undefined, { compactAfterErasure: false });
    const { wrappedKey } = await seedAndErase(f);
    const after = dataFolderText(f);
    expect(after).toMatch(PLAINTEXT);
    expect(after).toContain(wrappedKey);
  });
});
