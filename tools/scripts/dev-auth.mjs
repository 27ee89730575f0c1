// The development signing key of `npm start` and `npm run token`: a random HS256 secret kept
// (git-ignored) in .kizuna/dev-jwt-secret, published to the services as AUTH_JWT_KEYS (kid "dev-1").
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DEV_KID = 'dev-1';
const file = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '.kizuna', 'dev-jwt-secret');

export function devJwtSecret() {
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, randomBytes(48).toString('base64url'), { mode: 0o600 });
  }
  return readFileSync(file, 'utf8').trim();
}

export function devJwtKeys() {
  return JSON.stringify([{ kid: DEV_KID, alg: 'HS256', secret: devJwtSecret() }]);
}

/**
 * A short-lived token signed with the first HS256 key of AUTH_JWT_KEYS (or the development key),
 * for local tools such as the benchmark. Not for production.
 */
export async function signLocalToken({ roles, sub = 'local-tool', ttlSeconds = 3600 }) {
  const { SignJWT } = await import('jose');
  const keys = process.env.AUTH_JWT_KEYS ? JSON.parse(process.env.AUTH_JWT_KEYS).filter((k) => k.alg === 'HS256') : [{ kid: DEV_KID, secret: devJwtSecret() }];
  if (!keys[0]) throw new Error('AUTH_JWT_KEYS has no HS256 key to sign a local token with');
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ roles })
    .setProtectedHeader({ alg: 'HS256', kid: keys[0].kid })
    .setSubject(sub)
    .setIssuer(process.env.AUTH_JWT_ISSUER ?? 'kizuna')
    .setAudience(process.env.AUTH_JWT_AUDIENCE ?? 'kizuna-api')
    .setIssuedAt(now)
    .setExpirationTime(now + ttlSeconds)
    .sign(new TextEncoder().encode(keys[0].secret));
}
