import { parseCli, parseSubject, resolveSettings, usageText, DEFAULT_URL, DEFAULT_PRINCIPAL } from '../../cli/args.js';

function command(argv: string[]) {
  const result = parseCli(argv);
  if (!result.ok) throw new Error(`expected success, got usage error: ${result.error}`);
  return result.command;
}

function usageError(argv: string[]): string {
  const result = parseCli(argv);
  if (result.ok) throw new Error(`expected a usage error for ${argv.join(' ')}`);
  return result.error;
}

describe('tsi argument parsing', () => {
  describe('subjects', () => {
    it('splits on the first colon so IPv6 addresses survive', () => {
      expect(parseSubject('ip:2001:db8::1')).toEqual({ ok: true, subject: { type: 'ip', value: '2001:db8::1' } });
      expect(parseSubject('user_id:usr:42')).toEqual({ ok: true, subject: { type: 'user_id', value: 'usr:42' } });
    });

    it('accepts every platform subject type', () => {
      for (const type of ['email', 'user_id', 'voice_id', 'ip', 'card_fingerprint']) {
        expect(parseSubject(`${type}:x1`)).toMatchObject({ ok: true, subject: { type } });
      }
    });

    it('rejects unknown types, naming the valid ones', () => {
      const result = parseSubject('phone:+4412345');
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.error).toMatch(/unknown subject type "phone".*email, user_id, voice_id, ip, card_fingerprint/);
    });

    it('suggests email: when the type is left out of an address', () => {
      const result = parseSubject('john@example.com');
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.error).toContain('did you mean email:john@example.com?');
    });

    it('rejects an empty value', () => {
      expect(parseSubject('email:').ok).toBe(false);
      expect(parseSubject('email:   ').ok).toBe(false);
    });
  });

  describe('investigate', () => {
    it('parses every option', () => {
      expect(
        command([
          'investigate',
          'email:john@example.com',
          '--question',
          'who is cloning voices?',
          '--window-days',
          '14',
          '--restricted',
          '--idempotency-key',
          'k-1',
          '--json',
          '--as',
          'lead@example.com',
        ]),
      ).toEqual({
        kind: 'investigate',
        subject: { type: 'email', value: 'john@example.com' },
        question: 'who is cloning voices?',
        windowDays: 14,
        restricted: true,
        idempotencyKey: 'k-1',
        json: true,
        connection: { as: 'lead@example.com' },
      });
    });

    it('leaves out what was not given, so the server applies its defaults', () => {
      expect(command(['investigate', 'voice_id:v_9'])).toEqual({
        kind: 'investigate',
        subject: { type: 'voice_id', value: 'v_9' },
        restricted: false,
        json: false,
        connection: {},
      });
    });

    it('rejects a window that is not a whole number of days', () => {
      for (const bad of ['0', '-3', '2.5', 'week']) {
        expect(usageError(['investigate', 'email:a@b.co', `--window-days=${bad}`])).toMatch(/--window-days/);
      }
    });

    it('rejects an idempotency key the platform would refuse', () => {
      expect(usageError(['investigate', 'email:a@b.co', '--idempotency-key', 'has space'])).toMatch(/idempotency-key/);
    });

    it('explains a question that was not quoted', () => {
      expect(usageError(['investigate', 'email:a@b.co', 'who', 'is', 'this'])).toMatch(/unexpected argument "who" "is" "this".*quote/);
    });

    it('requires the subject unless a question is given to name it', () => {
      expect(usageError(['investigate'])).toMatch(/missing <type>:<value>/);
      expect(command(['investigate', '--question', 'who is using voice v_123'])).toEqual({
        kind: 'investigate',
        question: 'who is using voice v_123',
        restricted: false,
        json: false,
        connection: {},
      });
    });
  });

  describe('list', () => {
    it('maps flags to the API query names', () => {
      expect(
        command(['list', '--status', 'completed', '--created-by', 'a@example.com', '--assignee', 'b@example.com', '--page-size', '5', '--page-token', 'abc', '--all']),
      ).toEqual({
        kind: 'list',
        query: { status: 'completed', created_by: 'a@example.com', assignee: 'b@example.com', page_size: 5, page_token: 'abc' },
        all: true,
        json: false,
        connection: {},
      });
    });

    it('rejects an unknown status, listing the real ones', () => {
      expect(usageError(['list', '--status', 'done'])).toMatch(/queued, running, completed, failed, cancelled, closed/);
    });

    it('rejects a bad page size and non-email filters', () => {
      expect(usageError(['list', '--page-size', 'ten'])).toMatch(/--page-size/);
      expect(usageError(['list', '--assignee', 'bob'])).toMatch(/--assignee must be an email/);
    });
  });

  describe('other commands', () => {
    it('token takes an email and nothing that would need a token', () => {
      expect(command(['token', 'analyst@example.com'])).toEqual({ kind: 'token', email: 'analyst@example.com', connection: {} });
      expect(usageError(['token', 'not-an-email'])).toMatch(/not an email/);
      expect(usageError(['token', 'a@b.co', '--as', 'c@d.co'])).toMatch(/--as/);
    });

    it('show takes an id', () => {
      expect(command(['show', 'inv_01abc', '--json', '--token', 'T'])).toEqual({ kind: 'show', id: 'inv_01abc', json: true, connection: { token: 'T' } });
      expect(usageError(['show'])).toMatch(/missing <id>/);
    });

    it('help in all its spellings', () => {
      expect(command(['help'])).toEqual({ kind: 'help' });
      expect(command(['--help'])).toEqual({ kind: 'help' });
      expect(command(['help', 'list'])).toEqual({ kind: 'help', topic: 'list' });
      expect(command(['investigate', '--help'])).toEqual({ kind: 'help', topic: 'investigate' });
    });

    it('unknown commands, unknown options and a missing command are usage errors', () => {
      expect(usageError(['frobnicate'])).toMatch(/unknown command "frobnicate"/);
      expect(usageError(['list', '--colour'])).toMatch(/Unknown option '--colour'/);
      expect(usageError([])).toMatch(/missing command/);
    });

    it('rejects --as that is not an email', () => {
      expect(usageError(['list', '--as', 'analyst'])).toMatch(/--as must be an email/);
    });
  });

  describe('usage text', () => {
    it('documents every command, and one command on its own', () => {
      const all = usageText();
      for (const c of ['tsi token', 'tsi investigate', 'tsi show', 'tsi list', 'TSI_URL', 'TSI_TOKEN', 'TSI_AS']) expect(all).toContain(c);
      const one = usageText('show');
      expect(one).toContain('tsi show <id>');
      expect(one).not.toContain('tsi list');
    });
  });
});

describe('tsi settings', () => {
  const settings = (flags: Parameters<typeof resolveSettings>[0], env: Record<string, string | undefined>) => {
    const result = resolveSettings(flags, env);
    if (!result.ok) throw new Error(result.error);
    return result.settings;
  };

  it('defaults to the local stack and the default analyst', () => {
    expect(settings({}, {})).toEqual({ url: DEFAULT_URL, token: null, principal: DEFAULT_PRINCIPAL, principalSource: 'default' });
  });

  it('takes flags over the environment over defaults', () => {
    const env = { TSI_URL: 'http://env:1', TSI_TOKEN: 'env-token', TSI_AS: 'env@example.com' };
    expect(settings({}, env)).toEqual({ url: 'http://env:1', token: 'env-token', principal: 'env@example.com', principalSource: 'TSI_AS' });
    expect(settings({ url: 'https://flag.example/api/', token: 'flag-token', as: 'flag@example.com' }, env)).toEqual({
      url: 'https://flag.example/api',
      token: 'flag-token',
      principal: 'flag@example.com',
      principalSource: '--as',
    });
  });

  it('treats empty variables as unset', () => {
    expect(settings({}, { TSI_URL: '', TSI_TOKEN: ' ', TSI_AS: '' })).toMatchObject({ url: DEFAULT_URL, token: null, principalSource: 'default' });
  });

  it('refuses URLs it cannot talk to and a TSI_AS that is not an email', () => {
    expect(resolveSettings({ url: 'localhost:8080' }, {}).ok).toBe(false);
    expect(resolveSettings({}, { TSI_URL: 'not a url' }).ok).toBe(false);
    expect(resolveSettings({}, { TSI_AS: 'analyst' }).ok).toBe(false);
  });
});
