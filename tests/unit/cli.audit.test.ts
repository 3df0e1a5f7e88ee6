import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { emptyHead, linkRecord } from '../../shared/audit/chain.js';
import { parseAuditArgs } from '../../cli/audit-commands.js';
import { run } from '../../cli/main.js';

function chainLines(n: number): string[] {
  let head = emptyHead('chain_t');
  return Array.from({ length: n }, (_, i) => {
    const r = linkRecord(head, { id: `aud_${i}`, time: '2026-03-01T10:00:00Z', actor: null, roles: [], action: `a${i}`, resource: null, outcome: 'allowed' });
    head = { chain: 'chain_t', seq: r.seq, hash: r.hash };
    return JSON.stringify(r);
  });
}

function capture(env: Record<string, string> = {}) {
  let out = '';
  let err = '';
  return {
    io: { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) }, env },
    stdout: () => out,
    stderr: () => err,
  };
}

describe('tsi audit verify', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsi-audit-cli-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('parses its arguments', () => {
    expect(parseAuditArgs(['verify'])).toEqual({ ok: true, command: { kind: 'verify', file: null, json: false } });
    expect(parseAuditArgs(['verify', '--file', 'x.jsonl', '--json'])).toEqual({ ok: true, command: { kind: 'verify', file: 'x.jsonl', json: true } });
    expect(parseAuditArgs(['rotate'])).toMatchObject({ ok: false });
    expect(parseAuditArgs(['verify', '--bogus'])).toMatchObject({ ok: false });
  });

  it('reads <TSI_DATA_DIR>/audit/audit.jsonl by default and exits 0 on an intact chain', async () => {
    fs.mkdirSync(path.join(dir, 'audit'));
    fs.writeFileSync(path.join(dir, 'audit', 'audit.jsonl'), chainLines(4).join('\n') + '\n');
    const c = capture({ TSI_DATA_DIR: dir });
    expect(await run(['audit', 'verify'], c.io)).toBe(0);
    expect(c.stdout()).toMatch(/OK, 4 record\(s\) checked/);
  });

  it('exits 1 and names the first bad line of a tampered file', async () => {
    const lines = chainLines(5);
    lines[2] = lines[2]!.replace('"a2"', '"a2-edited"');
    const file = path.join(dir, 'audit.jsonl');
    fs.writeFileSync(file, lines.join('\n') + '\n');
    const c = capture();
    expect(await run(['audit', 'verify', '--file', file], c.io)).toBe(1);
    expect(c.stdout()).toMatch(/BROKEN at line 3 \(seq 2\): changed/);
    const j = capture();
    expect(await run(['audit', 'verify', '--file', file, '--json'], j.io)).toBe(1);
    expect(JSON.parse(j.stdout())).toMatchObject({ ok: false, chains: [{ firstBad: { index: 2, seq: 2, reason: 'changed', where: 'line 3' } }] });
  });

  it('verifies each instance chain of a Cloud Logging export', async () => {
    const entries = chainLines(3).map((l, i) => ({ insertId: `chain_t/${String(i).padStart(12, '0')}`, timestamp: `2026-03-01T10:00:0${i}Z`, jsonPayload: JSON.parse(l) }));
    const file = path.join(dir, 'export.json');
    fs.writeFileSync(file, JSON.stringify([entries[2], entries[0], entries[1]]));
    const c = capture();
    expect(await run(['audit', 'verify', '--file', file], c.io)).toBe(0);
    fs.writeFileSync(file, JSON.stringify([entries[0], entries[2]]));
    const broken = capture();
    expect(await run(['audit', 'verify', '--file', file], broken.io)).toBe(1);
    expect(broken.stdout()).toMatch(/deleted/);
  });

  it('says so when there is no audit file', async () => {
    const c = capture({ TSI_DATA_DIR: dir });
    expect(await run(['audit', 'verify'], c.io)).toBe(1);
    expect(c.stderr()).toMatch(/no audit file at/);
  });

  it('sets the process exit code through bin/tsi.js', async () => {
    const exec = promisify(execFile);
    const launcher = path.resolve('bin/tsi.js');
    const lines = chainLines(3);
    lines.splice(1, 1);
    const file = path.join(dir, 'audit.jsonl');
    fs.writeFileSync(file, lines.join('\n') + '\n');
    const res = await exec(launcher, ['audit', 'verify', '--file', file], { cwd: dir }).then(
      (r) => ({ code: 0, stdout: r.stdout }),
      (e: { code: number; stdout: string }) => e,
    );
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/BROKEN at line 2 \(seq 2\): deleted/);
  });
});
