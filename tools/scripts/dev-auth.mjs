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
