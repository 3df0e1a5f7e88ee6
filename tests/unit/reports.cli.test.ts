import { parseCli, usageText } from '../../cli/args.js';

describe('tsi report arguments', () => {
  it('defaults to Markdown on the terminal', () => {
    expect(parseCli(['report', 'inv_1'])).toEqual({ ok: true, command: { kind: 'report', id: 'inv_1', format: 'md', connection: {} } });
  });

  it('takes a format and an output file', () => {
    expect(parseCli(['report', 'inv_1', '--format', 'html', '--out', 'r.html', '--as', 'lead@example.com'])).toEqual({
      ok: true,
      command: { kind: 'report', id: 'inv_1', format: 'html', out: 'r.html', connection: { as: 'lead@example.com' } },
    });
    expect(parseCli(['report', 'inv_1', '-f', 'json', '-o', 'r.json'])).toMatchObject({ ok: true, command: { format: 'json', out: 'r.json' } });
  });

  it('refuses an unknown format, a missing id and an empty output path', () => {
    expect(parseCli(['report', 'inv_1', '--format', 'pdf'])).toMatchObject({ ok: false, error: expect.stringMatching(/--format must be one of md, html, json/) });
    expect(parseCli(['report'])).toMatchObject({ ok: false, error: 'report: missing <id>' });
    expect(parseCli(['report', 'inv_1', '--out', ''])).toMatchObject({ ok: false, error: '--out must name a file' });
  });

  it('is listed in the usage text', () => {
    expect(usageText()).toContain('tsi report <id> [--format md|html|json] [--out FILE]');
    expect(usageText('report')).toMatch(/^usage: tsi report <id>/);
  });
});
