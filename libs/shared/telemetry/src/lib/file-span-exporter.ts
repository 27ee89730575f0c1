import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ExportResultCode, hrTimeToMicroseconds, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';

/** One exported span as a line of the trace file (read by `npm run trace`). */
export interface SpanLine {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  service: string;
  name: string;
  kind: number;
  /** Microseconds since the epoch. */
  start: number;
  durationUs: number;
  status: number;
  statusMessage?: string;
  attributes: Record<string, unknown>;
  links: { traceId: string; spanId: string }[];
}

/**
 * Appends finished spans as JSON lines to a file: traces without a collector (no Docker here), read
 * back by `npm run trace -- <traceId|accountId>`. Attributes hold ids and types only, never PII.
 */
export class FileSpanExporter implements SpanExporter {
  private ready?: Promise<unknown>;
  private pending: Promise<void> = Promise.resolve();

  constructor(
    private readonly file: string,
    private readonly service: string,
  ) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    const lines = spans.map((s) => JSON.stringify(this.toLine(s))).join('\n') + '\n';
    this.ready ??= mkdir(dirname(this.file), { recursive: true });
    this.pending = this.pending
      .then(() => this.ready)
      .then(() => appendFile(this.file, lines))
      .then(
        () => done({ code: ExportResultCode.SUCCESS }),
        (error: Error) => done({ code: ExportResultCode.FAILED, error }),
      );
  }

  async shutdown(): Promise<void> {
    await this.pending;
  }

  async forceFlush(): Promise<void> {
    await this.pending;
  }

  private toLine(s: ReadableSpan): SpanLine {
    const ctx = s.spanContext();
    return {
      traceId: ctx.traceId,
      spanId: ctx.spanId,
      ...(s.parentSpanContext ? { parentSpanId: s.parentSpanContext.spanId } : {}),
      service: this.service,
      name: s.name,
      kind: s.kind,
      start: Math.round(hrTimeToMicroseconds(s.startTime)),
      durationUs: Math.round(hrTimeToMicroseconds(s.duration)),
      status: s.status.code,
      ...(s.status.message ? { statusMessage: s.status.message } : {}),
      attributes: { ...s.attributes },
      links: s.links.map((l) => ({ traceId: l.context.traceId, spanId: l.context.spanId })),
    };
  }
}
