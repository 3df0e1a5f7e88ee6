import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../cli/main.js';
import { startTestStack } from './harness.js';

/**
 * Issue 16.2 and 16.5 through the whole local stack: requests carrying personal data and secrets
 * in the path and query string leave none of it in the audit file, and after a clean shutdown the
 * audit chain is anchored up to its last record (`tsi audit verify` exits 0, nothing unanchored).
 */
it('redacts what requests carry into the audit file and anchors the chain on shutdown', async () => {
  const stack = await startTestStack();
  try {
    const analyst = await stack.token('analyst@example.com');
    expect((await stack.call('GET', '/v1/nowhere/victim.person%40example.org?token=KZ8f3Lq9vXw2Rt7Yp1Nm4Bc6Dh0Gj5Sa&card=4111111111111111')).status).toBe(404);
    expect((await stack.call('GET', '/v1/investigations/victim.person@example.org', { token: analyst })).status).toBeGreaterThanOrEqual(400);
    expect((await stack.call('GET', '/v1/investigations/whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', { token: analyst })).status).toBeGreaterThanOrEqual(400);
  } finally {
    await stack.stop();
  }
  try {
    const raw = readFileSync(join(stack.dataDir, 'audit', 'audit.jsonl'), 'utf8');
    for (const secret of ['victim.person', 'KZ8f3Lq9vXw2Rt7Yp1Nm4Bc6Dh0Gj5Sa', '4111111111111111', 'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw']) expect(raw).not.toContain(secret);
    let out = '';
    const io = { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (out += s) }, env: { TSI_DATA_DIR: stack.dataDir } };
    expect(await run(['audit', 'verify'], io)).toBe(0);
    expect(out).toMatch(/anchored: \d+ checkpoint\(s\) match, the last at seq \d+; 0 record\(s\) after it are not anchored yet/);
  } finally {
    rmSync(stack.dataDir, { recursive: true, force: true });
  }
});
