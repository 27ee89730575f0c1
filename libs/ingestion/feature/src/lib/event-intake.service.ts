import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { EventPublisher, type AnyNewEvent } from '@kizuna/shared/messaging';
import { ReceivedMessage } from '@kizuna/ingestion/data-access';
import { lazyInstruments } from '@kizuna/shared/telemetry';
import { IngestionConfig } from './ingestion.config';

const ingestMetrics = lazyInstruments((meter) => ({
  accepted: meter.createCounter('kizuna.ingest.events', { description: 'Events stored on Kafka by ingestion, by event type' }),
  rejected: meter.createCounter('kizuna.ingest.rejected', {
    description: 'Messages rejected by ingestion and published to cs.ingest.rejected.v1, by endpoint and reason (numbers masked)',
  }),
}));

/** A reason as a metric label: numbers masked so that "over 32,768 bytes" and the like stay one series. */
const reasonLabel = (reason: string) => reason.replace(/\d[\d,.]*/g, 'N').slice(0, 80);

/** Kafka did not acknowledge in time: nothing was stored, the client should retry (503). */
export class EventStoreUnavailable extends Error {
  override readonly name = 'EventStoreUnavailable';
}

/**
 * What every intake path shares: claiming message ids for dedup (inside the caller's
 * transaction), building rejections, and publishing with a bounded wait for Kafka's ack.
 */
@Injectable()
export class EventIntake {
  constructor(
    private readonly publisher: EventPublisher,
    private readonly config: IngestionConfig,
  ) {}

  /** Records the message ids; returns those not seen from this source within the dedup window. */
  async claim(m: EntityManager, sourceId: string, messageIds: string[], at: Date): Promise<Set<string>> {
    if (messageIds.length === 0) return new Set();
    const table = m.connection.getMetadata(ReceivedMessage).tablePath;
    const since = new Date(at.getTime() - this.config.INGESTION_DEDUP_WINDOW_MS);
    const rows: { message_id: string }[] = await m.query(
      `INSERT INTO ${table} AS r (source_id, message_id, received_at)
       SELECT $1, id, $3 FROM unnest($2::text[]) AS id
       ON CONFLICT (source_id, message_id) DO UPDATE SET received_at = EXCLUDED.received_at
         WHERE r.received_at < $4
       RETURNING message_id`,
      [sourceId, messageIds, at, since],
    );
    return new Set(rows.map((r) => r.message_id));
  }

  rejection(sourceId: string, endpoint: string, r: { index?: number; reason: string; raw: unknown }, at: Date): AnyNewEvent {
    const raw = JSON.stringify(r.raw) ?? 'undefined';
    return {
      type: 'cs.ingest.rejected.v1',
      subject: `source:${sourceId}`,
      data: {
        sourceId,
        endpoint,
        ...(r.index !== undefined && r.index >= 0 ? { index: r.index } : {}),
        reason: r.reason,
        raw: raw.length > 64 * 1024 ? `${raw.slice(0, 64 * 1024)}…(truncated)` : raw,
        receivedAt: at.toISOString(),
      },
    };
  }

  /** Publishes and waits for Kafka's acknowledgement, at most INGESTION_KAFKA_ACK_TIMEOUT_MS. */
  async publish(events: AnyNewEvent[]): Promise<void> {
    if (events.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new EventStoreUnavailable(`Kafka did not acknowledge within ${this.config.INGESTION_KAFKA_ACK_TIMEOUT_MS} ms`)),
        this.config.INGESTION_KAFKA_ACK_TIMEOUT_MS,
      );
    });
    try {
      await Promise.race([
        this.publisher.publish(events).catch((e: unknown) => {
          throw new EventStoreUnavailable(`Kafka refused the events: ${(e as Error).message}`);
        }),
        timeout,
      ]);
    } finally {
      clearTimeout(timer);
    }
    const m = ingestMetrics();
    for (const e of events) {
      if (e.type === 'cs.ingest.rejected.v1') {
        const d = e.data as { endpoint: string; reason: string };
        m.rejected.add(1, { endpoint: d.endpoint, reason: reasonLabel(d.reason) });
      } else m.accepted.add(1, { type: e.type });
    }
  }
}
