#!/usr/bin/env node
// `npm run token -- --role admin [--role ops] [--sub aiko] [--team emea] [--csm aiko] [--email aiko@example.com]
//                    [--region emea] [--ttl 3600] [--kid dev-1]`
// Prints a bearer token for the APIs, signed with an HS256 key of AUTH_JWT_KEYS (the key named by
// --kid, else the first HS256 key) or, when AUTH_JWT_KEYS is unset, with the development key that
// `npm start` uses. For development and tests only: production tokens come from your identity provider.
import { SignJWT } from 'jose';
import { DEV_KID, devJwtSecret } from './dev-auth.mjs';

const ROLES = ['admin', 'cs-lead', 'csm', 'support', 'ops'];
const args = process.argv.slice(2);
const opts = { role: [] };
for (let i = 0; i < args.length; i++) {
  const m = /^--([a-z]+)(?:=(.*))?$/.exec(args[i]);
  if (!m) fail(`unexpected argument ${args[i]}`);
  const value = m[2] ?? args[++i];
  if (value === undefined) fail(`--${m[1]} needs a value`);
  if (m[1] === 'role') opts.role.push(...value.split(','));
  else opts[m[1]] = value;
}
if (opts.help !== undefined || opts.role.length === 0) fail(`usage: npm run token -- --role <${ROLES.join('|')}> [--sub id] [--team id] [--csm id] [--email e] [--region r] [--ttl s] [--kid k]`);
for (const r of opts.role) if (!ROLES.includes(r)) fail(`unknown role ${r} (one of ${ROLES.join(', ')})`);

let kid = DEV_KID;
let secret;
if (process.env.AUTH_JWT_KEYS) {
  const keys = JSON.parse(process.env.AUTH_JWT_KEYS).filter((k) => k.alg === 'HS256' && (!opts.kid || k.kid === opts.kid));
  if (!keys[0]) fail(`AUTH_JWT_KEYS has no HS256 key${opts.kid ? ` with kid ${opts.kid}` : ''} to sign with`);
  ({ kid, secret } = keys[0]);
} else {
  secret = devJwtSecret();
}
const now = Math.floor(Date.now() / 1000);
const claims = { roles: opts.role };
for (const c of ['team', 'csm', 'email', 'region']) if (opts[c]) claims[c] = opts[c];
const token = await new SignJWT(claims)
  .setProtectedHeader({ alg: 'HS256', kid, typ: 'JWT' })
  .setSubject(opts.sub ?? `dev-${opts.role.join('-')}`)
  .setIssuer(process.env.AUTH_JWT_ISSUER ?? 'kizuna')
  .setAudience(process.env.AUTH_JWT_AUDIENCE ?? 'kizuna-api')
  .setIssuedAt(now)
  .setExpirationTime(now + Number(opts.ttl ?? 3600))
  .sign(new TextEncoder().encode(secret));
process.stdout.write(`${token}\n`);

function fail(message) {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}
