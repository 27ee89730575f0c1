import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * AES-256-GCM for secrets that must be read back (webhook signing secrets), base64(iv | tag | ciphertext),
 * and HMAC tokens (unsubscribe links) from the same key. Shared by ingestion and notification.
 */
export class SecretBox {
  private readonly key: Buffer;

  constructor(keyBase64: string, keyName = 'the secret key') {
    this.key = Buffer.from(keyBase64, 'base64');
    if (this.key.length !== 32) throw new Error(`${keyName} must be 32 bytes, base64-encoded (e.g. \`openssl rand -base64 32\`)`);
  }

  seal(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), ct]).toString('base64');
  }

  open(sealed: string): string {
    const buf = Buffer.from(sealed, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', this.key, buf.subarray(0, 12));
    decipher.setAuthTag(buf.subarray(12, 28));
    return Buffer.concat([decipher.update(buf.subarray(28)), decipher.final()]).toString('utf8');
  }

  token(purpose: string, value: string): string {
    return createHmac('sha256', this.key).update(`${purpose}\n${value}`).digest('base64url');
  }

  tokenMatches(purpose: string, value: string, token: string): boolean {
    const expected = Buffer.from(this.token(purpose, value));
    const given = Buffer.from(token);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}
