import { context, propagation, type Context } from '@opentelemetry/api';
import type { IHeaders } from 'kafkajs';

/** Reads Kafka headers (Buffers) as strings. */
export function headersToStrings(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) {
    if (v === undefined) continue;
    const first = Array.isArray(v) ? v[0] : v;
    if (first !== undefined) out[k] = Buffer.isBuffer(first) ? first.toString('utf8') : String(first);
  }
  return out;
}

/** Writes the given (default: active) context as W3C traceparent/tracestate headers. */
export function injectTraceHeaders(carrier: Record<string, string> = {}, ctx: Context = context.active()): Record<string, string> {
  propagation.inject(ctx, carrier);
  return carrier;
}

export function extractTraceContext(headers: Record<string, string>): Context {
  return propagation.extract(context.active(), headers);
}
