import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalKek } from '../../shared/crypto/kek/local.js';
import { startTestStack, type TestStack } from './harness.js';

/**
 * Start-up with the keys stored data depends on (issue 17.4), through the real start path
 * (local/stack.ts startStack): generated only for an empty data folder; a missing, damaged or
 * foreign key file stops the start with a message naming the file and what to restore, instead
 * of being regenerated silently (every read then failing, or erasure finding nothing).
 */
describe('start-up and the key files', () => {
  let dir: string;
  let stack: TestStack | undefined;
  const kekFile = () => path.join(dir, 'keys', 'kek.json');
  const blindFile = () => path.join(dir, 'secrets', 'tsi-blind-index-key');
  const saved: Record<string, Buffer> = {};

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsi-keys-'));
    // An empty data folder: keys are generated, and the data made under them.
    stack = await startTestStack({}, dir);
    const token = await stack.token('analyst@example.com');
    const created = await stack.call('POST', '/v1/investigations', { token, body: { subject: { type: 'email', value: 'john.doe@example.com' } } });
    expect(created.status).toBe(202);
    const ready = await stack.call('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body.checks).toContainEqual(expect.objectContaining({ name: 'keys', ok: true }));
    await stack.stop();
    stack = undefined;
    saved.kek = fs.readFileSync(kekFile());
    saved.blind = fs.readFileSync(blindFile());
  }, 120_000);

  afterEach(async () => {
    await stack?.stop();
    stack = undefined;
    fs.writeFileSync(kekFile(), saved.kek!, { mode: 0o600 });
    fs.writeFileSync(blindFile(), saved.blind!, { mode: 0o600 });
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a deleted key file stops the start, naming it and what to restore, and is not regenerated', async () => {
    fs.rmSync(kekFile());
    await expect(startTestStack({}, dir)).rejects.toThrow(new RegExp(`the key file ${escape(kekFile())} is missing, but this data folder .* holds data encrypted under it\\. Restore ${escape(kekFile())} from the backup`));
    expect(fs.existsSync(kekFile())).toBe(false);
  }, 60_000);

  it('a damaged key file stops the start', async () => {
    fs.writeFileSync(kekFile(), '{"format":"tsi-local-kek/v1","current":1,"versions":{"1":{"key":"AAAA"', { mode: 0o600 });
    await expect(startTestStack({}, dir)).rejects.toThrow(new RegExp(`the key file ${escape(kekFile())} is damaged\\. Restore it from the backup`));
  }, 60_000);

  it('a valid key file that is not the one the data was encrypted with stops the start', async () => {
    const other = fs.mkdtempSync(path.join(os.tmpdir(), 'tsi-other-kek-'));
    await new LocalKek(other).wrap(Buffer.alloc(32), Buffer.from('x'));
    fs.copyFileSync(path.join(other, 'kek.json'), kekFile());
    fs.rmSync(other, { recursive: true, force: true });
    await expect(startTestStack({}, dir)).rejects.toThrow(new RegExp(`${escape(kekFile())} does not open the data keys of this data folder .*Restore the original`));
  }, 60_000);

  it('a deleted blind-index key stops the start instead of a later erasure finding nothing', async () => {
    fs.rmSync(blindFile());
    await expect(startTestStack({}, dir)).rejects.toThrow(new RegExp(`the blind-index key ${escape(blindFile())} is missing, but this data folder .* holds records indexed with it\\. Restore ${escape(blindFile())}`));
    expect(fs.existsSync(blindFile())).toBe(false);
  }, 60_000);

  it('a damaged or foreign blind-index key stops the start', async () => {
    fs.writeFileSync(blindFile(), 'not a key', { mode: 0o600 });
    await expect(startTestStack({}, dir)).rejects.toThrow(new RegExp(`the blind-index key ${escape(blindFile())} is damaged`));
    fs.writeFileSync(blindFile(), Buffer.alloc(32, 9).toString('base64'), { mode: 0o600 });
    await expect(startTestStack({}, dir)).rejects.toThrow(new RegExp(`the blind-index key ${escape(blindFile())} is not the key this data folder .* was indexed with`));
  }, 60_000);

  it('with the original keys back it starts, reads the data, and /readyz reports key health', async () => {
    stack = await startTestStack({}, dir);
    const token = await stack.token('analyst@example.com');
    const list = await stack.call('GET', '/v1/investigations', { token });
    expect(list.status).toBe(200);
    expect(list.body.items).toHaveLength(1);
    const ready = await stack.call('GET', '/readyz');
    expect(ready.body.checks).toContainEqual(expect.objectContaining({ name: 'keys', ok: true }));
  }, 60_000);
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
