import * as zlib from 'node:zlib';
import { CompressionCodecs, CompressionTypes } from 'kafkajs';

/**
 * Compression of the record batches Kizuna's producers send (KAFKA_COMPRESSION).
 *
 * kafkajs ships gzip only; zstd comes from Node's own zlib (Node 22.15 and later, which this project
 * requires), so no native package is added. Kizuna's envelopes are JSON with repeated keys: a page
 * of 2,000 cs.health.score.changed.v1 events (1.3 MB) compresses 15× at zstd's level 1, in about
 * 2 ms on one core here. Sending it uncompressed cost the relay more in socket writes alone (about
 * 13 ms of CPU per MB over loopback, see docs/benchmarks.md), and the broker and every consumer
 * paid for the bytes again. The broker keeps a batch as the producer compressed it (the topics'
 * `compression.type` is `producer`, Kafka's default); zstd needs brokers from Kafka 2.1 on and
 * consumers that read it (Kafka's Java clients, librdkafka 1.0+, kafkajs with this codec).
 *
 * The services' default is `none`: on this 2-core machine (broker on loopback) zstd saved no CPU,
 * and with the whole pipeline under load assigned → e-mail p99 doubled (two A/B pairs: 1.8-2.0 s
 * against 0.9 s; not yet explained: perhaps the product lanes' 64 KiB fetches, holding 15× the
 * records). Every consumer reads all three, whatever the producers were set to.
 */
export type KafkaCompression = 'none' | 'gzip' | 'zstd';

export const KAFKA_COMPRESSIONS: readonly KafkaCompression[] = ['none', 'gzip', 'zstd'];

/** zstd's fastest regular level: its ratio on these envelopes is within a few per cent of level 3's. */
const ZSTD_LEVEL = 1;

interface ZstdZlib {
  zstdCompressSync: (buf: Buffer, options: { params: Record<number, number> }) => Buffer;
  zstdDecompressSync: (buf: Buffer) => Buffer;
  constants: { ZSTD_c_compressionLevel?: number };
}

let installed = false;

/** Whether this Node has zstd in node:zlib. */
export function zstdAvailable(): boolean {
  return typeof (zlib as unknown as Partial<ZstdZlib>).zstdCompressSync === 'function';
}

/**
 * Registers the zstd codec with kafkajs (its codec table is shared by every client of the process),
 * so that producers can write zstd batches and consumers read them. Idempotent; a Node without zstd
 * is left as it is (reading a zstd batch then fails with kafkajs's "ZSTD compression not implemented").
 */
export function installKafkaCodecs(): void {
  if (installed || !zstdAvailable()) return;
  const z = zlib as unknown as ZstdZlib;
  const level = z.constants.ZSTD_c_compressionLevel;
  const params: Record<number, number> = level === undefined ? {} : { [level]: ZSTD_LEVEL };
  const codec = {
    compress: async (encoder: { buffer: Buffer }) => z.zstdCompressSync(encoder.buffer, { params }),
    decompress: async (buffer: Buffer) => z.zstdDecompressSync(buffer),
  };
  (CompressionCodecs as Record<number, () => typeof codec>)[CompressionTypes.ZSTD] = () => codec;
  installed = true;
}

/** kafkajs's compression type for a KAFKA_COMPRESSION value (zstd registered first). */
export function compressionType(name: KafkaCompression): CompressionTypes {
  switch (name) {
    case 'none':
      return CompressionTypes.None;
    case 'gzip':
      return CompressionTypes.GZIP;
    case 'zstd':
      if (!zstdAvailable()) throw new Error(`KAFKA_COMPRESSION=zstd needs Node 22.15 or later (zstd in node:zlib); this is ${process.version}`);
      installKafkaCodecs();
      return CompressionTypes.ZSTD;
  }
}
