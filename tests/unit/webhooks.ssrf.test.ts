import { LOCAL_POLICY, PRODUCTION_POLICY, checkUrl, classifyAddress, resolveDestination, type Lookup } from '../../shared/webhooks/ssrf.js';

describe('webhook destination guard (SSRF)', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'cgnat'],
    ['169.254.169.254', 'metadata'],
    ['169.254.10.10', 'link-local'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'link-local'],
    ['fd12:3456::1', 'unique-local'],
    ['fd00:ec2::254', 'metadata'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['::ffff:10.0.0.1', 'private'],
    ['64:ff9b::a00:1', 'private'],
    ['2002:a00:1::', 'reserved'],
    ['8.8.8.8', 'public'],
    ['172.32.0.1', 'public'],
    ['2606:4700:4700::1111', 'public'],
  ])('classifies %s as %s', (ip, cls) => {
    expect(classifyAddress(ip)).toBe(cls);
  });

  it.each([
    'http://example.com/hook',
    'https://169.254.169.254/computeMetadata/v1/',
    'https://metadata.google.internal/computeMetadata/v1/',
    'https://10.0.0.5/hook',
    'https://127.0.0.1/hook',
    'https://localhost/hook',
    'https://[::1]/hook',
    'https://[::ffff:127.0.0.1]/hook',
    'https://[fe80::1]/hook',
    'https://2130706433/hook', // decimal 127.0.0.1
    'https://0177.0.0.1/hook', // octal
    'https://0x7f.1/hook', // hex + short form
    'https://0xa9fea9fe/hook', // hex 169.254.169.254
    'https://intranet/hook', // single label
    'https://service.internal/hook',
    'https://user:pass@example.com/hook',
    'ftp://example.com/hook',
    'not a url',
  ])('refuses %s in production', (url) => {
    expect(() => checkUrl(url, PRODUCTION_POLICY)).toThrow();
  });

  it('accepts a public https URL in production', () => {
    expect(checkUrl('https://hooks.example.com/tsi?x=1', PRODUCTION_POLICY).host).toBe('hooks.example.com');
    expect(checkUrl('https://8.8.8.8/hook', PRODUCTION_POLICY).literal).toBe(true);
  });

  it('in local mode allows http and loopback receivers, and nothing else private', () => {
    expect(checkUrl('http://127.0.0.1:9999/hook', LOCAL_POLICY).host).toBe('127.0.0.1');
    expect(checkUrl('http://localhost:9999/hook', LOCAL_POLICY).host).toBe('localhost');
    expect(checkUrl('http://[::1]:9999/hook', LOCAL_POLICY).host).toBe('::1');
    expect(() => checkUrl('http://10.0.0.5/hook', LOCAL_POLICY)).toThrow(/private/);
    expect(() => checkUrl('http://169.254.169.254/', LOCAL_POLICY)).toThrow(/metadata/);
    expect(() => checkUrl('http://metadata.google.internal/', LOCAL_POLICY)).toThrow(/metadata/);
  });

  it('re-checks after DNS: any private answer refuses the host', async () => {
    const dns = (answers: string[]): Lookup => async () => answers.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    const checked = checkUrl('https://hooks.example.com/x', PRODUCTION_POLICY);
    await expect(resolveDestination(checked, PRODUCTION_POLICY, dns(['93.184.216.34']))).resolves.toEqual({ address: '93.184.216.34', family: 4 });
    await expect(resolveDestination(checked, PRODUCTION_POLICY, dns(['93.184.216.34', '10.0.0.7']))).rejects.toThrow(/private/);
    await expect(resolveDestination(checked, PRODUCTION_POLICY, dns(['169.254.169.254']))).rejects.toThrow(/metadata/);
    await expect(resolveDestination(checked, PRODUCTION_POLICY, dns(['::ffff:127.0.0.1']))).rejects.toThrow(/loopback/);
    await expect(resolveDestination(checked, LOCAL_POLICY, dns(['127.0.0.1']))).resolves.toMatchObject({ address: '127.0.0.1' });
    await expect(resolveDestination(checked, PRODUCTION_POLICY, dns([]))).rejects.toThrow(/does not resolve/);
  });
});
