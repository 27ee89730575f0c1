import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { promisify } from 'node:util';
import { isNonPublicAddress, urlShapeProblem } from '@kizuna/notification/domain';

/** A URL refused by the SSRF guard (shape or resolved address). */
export class TargetRefusedError extends Error {
  override readonly name = 'TargetRefusedError';
}

const lookupAll = promisify(dnsLookup);

/**
 * Checks at configuration time that `raw` is an http(s) URL whose host resolves only to public
 * addresses (unless private targets are allowed). Throws TargetRefusedError with the reason.
 */
export async function assertPublicTarget(raw: string, allowPrivate: boolean): Promise<void> {
  const problem = urlShapeProblem(raw);
  if (problem) throw new TargetRefusedError(`${raw} ${problem}`);
  if (allowPrivate) return;
  const host = new URL(raw).hostname.replace(/^\[|\]$/g, '');
  let addresses: LookupAddress[];
  try {
    addresses = (await lookupAll(host, { all: true })) as unknown as LookupAddress[];
  } catch (e) {
    throw new TargetRefusedError(`${host} does not resolve (${(e as Error).message})`);
  }
  const bad = addresses.find((a) => isNonPublicAddress(a.address));
  if (bad) throw new TargetRefusedError(`${host} resolves to ${bad.address}, a loopback/private/link-local address`);
}

/**
 * The socket's DNS lookup, refusing non-public addresses at connect time too (so a name that
 * re-resolves to a private address after the check - DNS rebinding - is still refused).
 */
function guardedLookup(allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const list = addresses as unknown as LookupAddress[];
      const bad = allowPrivate ? undefined : list.find((a) => isNonPublicAddress(a.address));
      if (bad) return callback(new TargetRefusedError(`${hostname} resolves to ${bad.address}, a loopback/private/link-local address`), '', 0);
      if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, list);
      const first = list[0];
      if (!first) return callback(new Error(`${hostname} has no address`), '', 0);
      return callback(null, first.address, first.family);
    });
  };
}

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  /** The first 2 KB of the body. */
  body: string;
}

/**
 * POSTs `body` and resolves with the answer, never following redirects (a 3xx is the caller's
 * failure). Rejects on connection errors, refused targets, and when the whole exchange takes
 * longer than `timeoutMs`.
 */
export function postJson(url: string, body: string, headers: Record<string, string>, options: { timeoutMs: number; allowPrivate: boolean }): Promise<HttpAnswer> {
  const problem = urlShapeProblem(url);
  if (problem) return Promise.reject(new TargetRefusedError(`${url} ${problem}`));
  const u = new URL(url);
  const literal = u.hostname.replace(/^\[|\]$/g, '');
  if (!options.allowPrivate && /^[\d.]+$|:/.test(literal) && isNonPublicAddress(literal)) {
    return Promise.reject(new TargetRefusedError(`${literal} is a loopback/private/link-local address`));
  }
  const request = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<HttpAnswer>((resolve, reject) => {
    const req = request(
      u,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'user-agent': 'Kizuna-Notification/1', ...headers },
        lookup: guardedLookup(options.allowPrivate),
        timeout: options.timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          if (size < 2048) chunks.push(c);
          size += c.length;
        });
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8').slice(0, 2048) });
        });
        res.on('error', (e) => {
          clearTimeout(timer);
          reject(e);
        });
      },
    );
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)), options.timeoutMs);
    req.on('timeout', () => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.end(body);
  });
}
