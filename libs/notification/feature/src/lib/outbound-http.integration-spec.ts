import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TargetRefusedError, assertPublicTarget, postJson } from './outbound-http';

/** The SSRF guard against a real local listener: refused unless private targets are allowed. */
describe('outbound HTTP SSRF guard', () => {
  let server: Server;
  let port = 0;
  beforeAll(async () => {
    server = createServer((_, res) => res.writeHead(200).end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('refuses loopback, private and link-local targets at configuration time', async () => {
    for (const url of [`http://localhost:${port}/x`, 'http://127.0.0.1/x', 'http://10.0.0.8/x', 'http://169.254.169.254/latest', 'http://[::1]/x']) {
      await expect(assertPublicTarget(url, false)).rejects.toThrow(TargetRefusedError);
    }
    await expect(assertPublicTarget('gopher://example.com', false)).rejects.toThrow('must be http or https');
    await expect(assertPublicTarget(`http://localhost:${port}/x`, true)).resolves.toBeUndefined();
  });

  it('refuses them again when connecting (a name that resolves to loopback, an IP literal), and sends when allowed', async () => {
    await expect(postJson(`http://localhost:${port}/x`, '{}', {}, { timeoutMs: 2000, allowPrivate: false })).rejects.toThrow(TargetRefusedError);
    await expect(postJson(`http://127.0.0.1:${port}/x`, '{}', {}, { timeoutMs: 2000, allowPrivate: false })).rejects.toThrow(TargetRefusedError);
    await expect(postJson(`http://localhost:${port}/x`, '{}', {}, { timeoutMs: 2000, allowPrivate: true })).resolves.toMatchObject({ status: 200, body: 'ok' });
  });
});
