import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com):
 * `webhook-signature: v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">`,
 * one `v1,` entry per active secret (space-separated) so a receiver can rotate secrets.
 * Secrets are `whsec_<base64 key>`.
 */
export const SECRET_PREFIX = 'whsec_';

export class WebhookVerificationError extends Error {
  override readonly name = 'WebhookVerificationError';
}

/** The key bytes of a `whsec_…` secret; throws when it is not one (16 to 64 bytes). */
export function secretKey(secret: string): Buffer {
  if (!secret.startsWith(SECRET_PREFIX)) throw new WebhookVerificationError(`a webhook secret starts with ${SECRET_PREFIX}`);
  const b64 = secret.slice(SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) throw new WebhookVerificationError('a webhook secret is whsec_ followed by base64');
  const key = Buffer.from(b64, 'base64');
  if (key.length < 16 || key.length > 64) throw new WebhookVerificationError('a webhook secret holds 16 to 64 bytes');
  return key;
}

export const isWebhookSecret = (secret: string) => {
  try {
    secretKey(secret);
    return true;
  } catch {
    return false;
  }
};

/** A new random secret (24 bytes). */
export const generateWebhookSecret = () => `${SECRET_PREFIX}${randomBytes(24).toString('base64')}`;

function sign(key: Buffer, id: string, timestamp: number, body: string): string {
  return createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
}

export type SignedHeaders = {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
};

/** The three headers for `body` (the exact bytes sent), signed with every active secret. */
export function signWebhook(input: { id: string; timestamp: Date; body: string; secrets: readonly string[] }): SignedHeaders {
  if (input.secrets.length === 0) throw new WebhookVerificationError('at least one secret is needed to sign');
  const ts = Math.floor(input.timestamp.getTime() / 1000);
  return {
    'webhook-id': input.id,
    'webhook-timestamp': String(ts),
    'webhook-signature': input.secrets.map((s) => `v1,${sign(secretKey(s), input.id, ts, input.body)}`).join(' '),
  };
}

export interface VerifyOptions {
  /** The raw request body, exactly as received (not re-serialised JSON). */
  body: string | Buffer;
  /** Request headers (any case). */
  headers: Record<string, string | string[] | undefined>;
  /** The receiver's secret(s): during a rotation, both the old and the new one. */
  secrets: string | readonly string[];
  /** Reject timestamps further than this from `now` (replays); default 300 s. */
  toleranceSeconds?: number;
  now?: Date;
}

/**
 * Receiver side: checks a delivery's Standard Webhooks signature and timestamp, and returns the
 * parsed JSON body; throws WebhookVerificationError otherwise. Usable by anyone receiving Kizuna's
 * webhooks (it depends on node:crypto only).
 */
export function verifyWebhook<T = unknown>(options: VerifyOptions): T {
  const header = (name: string): string | undefined => {
    const entry = Object.entries(options.headers).find(([k]) => k.toLowerCase() === name);
    const v = entry?.[1];
    return Array.isArray(v) ? v[0] : v;
  };
  const id = header('webhook-id');
  const timestamp = header('webhook-timestamp');
  const signature = header('webhook-signature');
  if (!id || !timestamp || !signature) throw new WebhookVerificationError('missing webhook-id, webhook-timestamp or webhook-signature');
  if (!/^\d+$/.test(timestamp)) throw new WebhookVerificationError('webhook-timestamp is not a number of seconds');
  const ts = Number(timestamp);
  const now = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const tolerance = options.toleranceSeconds ?? 300;
  if (Math.abs(now - ts) > tolerance) throw new WebhookVerificationError('webhook-timestamp is outside the tolerance');
  const body = typeof options.body === 'string' ? options.body : options.body.toString('utf8');
  const offered = signature.split(' ').filter((s) => s.startsWith('v1,')).map((s) => Buffer.from(s.slice(3), 'base64'));
  const secrets = typeof options.secrets === 'string' ? [options.secrets] : options.secrets;
  for (const secret of secrets) {
    const expected = Buffer.from(sign(secretKey(secret), id, ts, body), 'base64');
    if (offered.some((o) => o.length === expected.length && timingSafeEqual(o, expected))) return JSON.parse(body) as T;
  }
  throw new WebhookVerificationError('no matching signature');
}
