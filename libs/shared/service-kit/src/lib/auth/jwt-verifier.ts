import { readFileSync } from 'node:fs';
import { createSecretKey, type KeyObject } from 'node:crypto';
import { errors, importSPKI, jwtVerify, type JWTPayload, type KeyLike, type ProtectedHeaderParameters } from 'jose';
import { isRole, type Principal } from './roles';
import type { AuthConfig } from './auth.config';

export const JWT_ALGORITHMS = ['HS256', 'RS256', 'ES256', 'EdDSA'] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

export interface JwtKeySpec {
  kid: string;
  alg: JwtAlgorithm;
  secret?: string;
  publicKey?: string;
  publicKeyFile?: string;
}

/** Why a token was refused (401); the message is safe to return (no token content). */
export class InvalidToken extends Error {}

interface LoadedKey {
  alg: JwtAlgorithm;
  key: KeyObject | KeyLike;
}

/** Parses AUTH_JWT_KEYS; throws with a precise message (at startup) when it is malformed. */
export function parseJwtKeys(json: string): JwtKeySpec[] {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new Error('AUTH_JWT_KEYS: not JSON (expected an array of {kid, alg, secret | publicKey | publicKeyFile})');
  }
  if (!Array.isArray(raw) || raw.length === 0) throw new Error('AUTH_JWT_KEYS: must be a non-empty JSON array');
  const seen = new Set<string>();
  return raw.map((k: Record<string, unknown>, i) => {
    const where = `AUTH_JWT_KEYS[${i}]`;
    if (typeof k !== 'object' || k === null) throw new Error(`${where}: must be an object`);
    if (typeof k['kid'] !== 'string' || !k['kid']) throw new Error(`${where}.kid: required string`);
    if (seen.has(k['kid'])) throw new Error(`${where}.kid: "${k['kid']}" appears twice`);
    seen.add(k['kid']);
    if (!(JWT_ALGORITHMS as readonly unknown[]).includes(k['alg'])) throw new Error(`${where}.alg: one of ${JWT_ALGORITHMS.join(', ')}`);
    const alg = k['alg'] as JwtAlgorithm;
    if (alg === 'HS256') {
      if (typeof k['secret'] !== 'string' || k['secret'].length < 32) throw new Error(`${where}.secret: HS256 needs a secret of at least 32 characters`);
      return { kid: k['kid'], alg, secret: k['secret'] };
    }
    if (typeof k['publicKey'] === 'string') return { kid: k['kid'], alg, publicKey: k['publicKey'] };
    if (typeof k['publicKeyFile'] === 'string') return { kid: k['kid'], alg, publicKeyFile: k['publicKeyFile'] };
    throw new Error(`${where}: ${alg} needs publicKey (PEM, SPKI) or publicKeyFile`);
  });
}

/**
 * Verifies Kizuna bearer tokens (JWS compact, signed by one of the configured keys chosen by the
 * `kid` header): signature, algorithm pinned per key, exp (required), nbf, iss, aud, lifetime cap,
 * and the claims sub and roles. Token times are checked against the real clock, not the service's
 * injected domain clock (which a replay may set in the past).
 */
export class JwtVerifier {
  private readonly keys: Promise<Map<string, LoadedKey>>;

  constructor(private readonly config: AuthConfig) {
    const specs = parseJwtKeys(config.AUTH_JWT_KEYS);
    this.keys = Promise.all(specs.map(async (s) => [s.kid, await load(s)] as const)).then((e) => new Map(e));
    this.keys.catch(() => undefined);
  }

  /** Resolves when every key is imported; rejects (at startup) when one is not a usable key. */
  ready(): Promise<unknown> {
    return this.keys;
  }

  async verify(token: string): Promise<Principal> {
    const keys = await this.keys;
    let kid = '';
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(
        token,
        (header: ProtectedHeaderParameters) => {
          kid = header.kid ?? '';
          const k = keys.get(kid);
          if (!k) throw new InvalidToken(header.kid ? `unknown key id "${header.kid.slice(0, 64)}"` : 'the token has no kid header');
          if (header.alg !== k.alg) throw new InvalidToken(`key "${kid}" is for ${k.alg}, the token says ${header.alg}`);
          return k.key;
        },
        {
          issuer: this.config.AUTH_JWT_ISSUER,
          audience: this.config.AUTH_JWT_AUDIENCE,
          clockTolerance: this.config.AUTH_CLOCK_TOLERANCE_S,
          requiredClaims: ['exp', 'sub'],
        },
      ));
    } catch (e) {
      if (e instanceof InvalidToken) throw e;
      if (e instanceof errors.JWTExpired) throw new InvalidToken('the token has expired');
      if (e instanceof errors.JWTClaimValidationFailed) throw new InvalidToken(`claim ${e.claim}: ${e.reason === 'check_failed' ? 'not accepted' : e.reason}`);
      if (e instanceof errors.JWSSignatureVerificationFailed) throw new InvalidToken('bad signature');
      throw new InvalidToken('malformed token');
    }
    const nowS = Math.floor(Date.now() / 1000);
    if ((payload.exp as number) - nowS > this.config.AUTH_MAX_TOKEN_TTL_S + this.config.AUTH_CLOCK_TOLERANCE_S) {
      throw new InvalidToken(`the token lives longer than AUTH_MAX_TOKEN_TTL_S (${this.config.AUTH_MAX_TOKEN_TTL_S} s)`);
    }
    const roles = Array.isArray(payload['roles']) ? payload['roles'].filter(isRole) : [];
    const str = (name: string) => (typeof payload[name] === 'string' && (payload[name] as string).length <= 256 ? (payload[name] as string) : null);
    const sub = payload.sub as string;
    if (!sub || sub.length > 256 || sub === 'system') throw new InvalidToken('claim sub: a user id of 1..256 characters (not "system")');
    return { sub, roles, team: str('team'), csm: str('csm'), email: str('email')?.toLowerCase() ?? null, region: str('region'), kid };
  }
}

async function load(s: JwtKeySpec): Promise<LoadedKey> {
  if (s.alg === 'HS256') return { alg: s.alg, key: createSecretKey(Buffer.from(s.secret as string, 'utf8')) };
  const pem = s.publicKey ?? readFileSync(s.publicKeyFile as string, 'utf8');
  try {
    return { alg: s.alg, key: await importSPKI(pem, s.alg) };
  } catch (e) {
    throw new Error(`AUTH_JWT_KEYS kid "${s.kid}": not a ${s.alg} public key in PEM (SPKI): ${(e as Error).message}`);
  }
}
