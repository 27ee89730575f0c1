import { randomBytes } from 'node:crypto';
import { SecretBox } from './secret-box';

describe('SecretBox', () => {
  const box = new SecretBox(randomBytes(32).toString('base64'), 'TEST_KEY');

  it('seals and opens a secret (a fresh IV each time), and refuses a tampered one', () => {
    const a = box.seal('whsec_abc');
    expect(a).not.toBe(box.seal('whsec_abc'));
    expect(box.open(a)).toBe('whsec_abc');
    const tampered = Buffer.from(a, 'base64');
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 1;
    expect(() => box.open(tampered.toString('base64'))).toThrow();
  });

  it('checks tokens per purpose and value', () => {
    const t = box.token('unsubscribe', 'a@example.com');
    expect(box.tokenMatches('unsubscribe', 'a@example.com', t)).toBe(true);
    expect(box.tokenMatches('unsubscribe', 'b@example.com', t)).toBe(false);
    expect(box.tokenMatches('other', 'a@example.com', t)).toBe(false);
  });

  it('names the setting when the key is not 32 bytes', () => {
    expect(() => new SecretBox('c2hvcnQ=', 'TEST_KEY')).toThrow(/TEST_KEY must be 32 bytes/);
  });
});
