import { generateKeyPairSync } from 'node:crypto';
import { SignJWT, importPKCS8 } from 'jose';
import { InvalidToken, JwtVerifier, parseJwtKeys } from './jwt-verifier';
import { AuthConfig } from './auth.config';

const S1 = 'first-secret-of-at-least-32-characters!!';
const S2 = 'second-secret-of-at-least-32-characters!';
const ed = generateKeyPairSync('ed25519');
const edPublic = ed.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const edPrivate = ed.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

function config(over: Partial<AuthConfig> = {}): AuthConfig {
  return Object.assign(new AuthConfig(), {
    AUTH_JWT_KEYS: JSON.stringify([{ kid: 'k1', alg: 'HS256', secret: S1 }, { kid: 'k2', alg: 'HS256', secret: S2 }, { kid: 'ed', alg: 'EdDSA', publicKey: edPublic }]),
    ...over,
  });
}

const now = () => Math.floor(Date.now() / 1000);
async function sign(o: { kid?: string; alg?: string; secret?: string; claims?: Record<string, unknown>; exp?: number; nbf?: number; iss?: string; aud?: string; sub?: string | null } = {}): Promise<string> {
  const alg = o.alg ?? 'HS256';
  const jwt = new SignJWT({ roles: ['csm'], team: 't1', csm: 'c1', email: 'A@Example.com', ...(o.claims ?? {}) })
    .setProtectedHeader({ alg, kid: o.kid ?? 'k1' })
    .setIssuer(o.iss ?? 'kizuna')
    .setAudience(o.aud ?? 'kizuna-api')
    .setExpirationTime(o.exp ?? now() + 600);
  if (o.sub !== null) jwt.setSubject(o.sub ?? 'u1');
  if (o.nbf !== undefined) jwt.setNotBefore(o.nbf);
  const key = alg === 'EdDSA' ? await importPKCS8(edPrivate, 'EdDSA') : new TextEncoder().encode(o.secret ?? S1);
  return jwt.sign(key);
}

describe('JwtVerifier', () => {
  const v = new JwtVerifier(config());
  const refused = async (token: Promise<string>, why: RegExp) => {
    const e = await v.verify(await token).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(InvalidToken);
    expect((e as Error).message).toMatch(why);
  };

  it('accepts tokens of every active key (rotation) and reads the claims', async () => {
    expect(await v.verify(await sign())).toEqual({ sub: 'u1', roles: ['csm'], team: 't1', csm: 'c1', email: 'a@example.com', region: null, kid: 'k1' });
    expect((await v.verify(await sign({ kid: 'k2', secret: S2 }))).kid).toBe('k2');
    expect((await v.verify(await sign({ kid: 'ed', alg: 'EdDSA' }))).kid).toBe('ed');
  });

  it('drops unknown roles', async () => {
    expect((await v.verify(await sign({ claims: { roles: ['csm', 'root'] } }))).roles).toEqual(['csm']);
  });

  it('refuses forged, expired, early, foreign and malformed tokens', async () => {
    await refused(sign({ secret: 'another-secret-of-at-least-32-characters' }), /signature/);
    await refused(sign({ kid: 'k2', secret: S1 }), /signature/);
    await refused(sign({ kid: 'retired' }), /unknown key id/);
    await refused(sign({ kid: 'ed', alg: 'HS256', secret: S1 }), /is for EdDSA/);
    await refused(sign({ exp: now() - 120 }), /expired/);
    await refused(sign({ nbf: now() + 600 }), /nbf/);
    await refused(sign({ iss: 'evil' }), /iss/);
    await refused(sign({ aud: 'another-api' }), /aud/);
    await refused(sign({ exp: now() + 30 * 86400 }), /longer than/);
    await refused(sign({ sub: null }), /sub/);
    await refused(sign({ sub: 'system' }), /sub/);
    await refused(Promise.resolve('a.b.c'), /malformed/);
    const [h, p] = (await sign()).split('.');
    await refused(Promise.resolve(`${h}.${p}.`), /signature|malformed/);
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', kid: 'k1' })).toString('base64url')}.${p}.`;
    await refused(Promise.resolve(none), /none|malformed|signature|alg/i);
  });

  it('validates AUTH_JWT_KEYS precisely', () => {
    expect(() => parseJwtKeys('nope')).toThrow(/not JSON/);
    expect(() => parseJwtKeys('[]')).toThrow(/non-empty/);
    expect(() => parseJwtKeys('[{"kid":"a","alg":"HS256","secret":"short"}]')).toThrow(/32 characters/);
    expect(() => parseJwtKeys('[{"kid":"a","alg":"none"}]')).toThrow(/alg/);
    expect(() => parseJwtKeys(`[{"kid":"a","alg":"HS256","secret":"${S1}"},{"kid":"a","alg":"HS256","secret":"${S2}"}]`)).toThrow(/twice/);
    expect(() => parseJwtKeys('[{"kid":"a","alg":"RS256"}]')).toThrow(/publicKey/);
  });
});
