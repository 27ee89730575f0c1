import { isNonPublicAddress, urlShapeProblem } from './network-guard';

describe('SSRF guard', () => {
  it.each(['127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', 'fe80::1', 'fd00::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1', 'not-an-ip'])(
    'refuses %s',
    (ip) => expect(isNonPublicAddress(ip)).toBe(true),
  );
  it.each(['93.184.216.34', '8.8.8.8', '2606:4700::1111', '::ffff:8.8.8.8'])('allows %s', (ip) => expect(isNonPublicAddress(ip)).toBe(false));

  it('wants http(s) without credentials', () => {
    expect(urlShapeProblem('https://hooks.example.com/x')).toBeNull();
    expect(urlShapeProblem('ftp://example.com')).toBe('must be http or https');
    expect(urlShapeProblem('https://u:p@example.com')).toBe('must not carry credentials');
    expect(urlShapeProblem('nope')).toBe('is not a URL');
  });
});
