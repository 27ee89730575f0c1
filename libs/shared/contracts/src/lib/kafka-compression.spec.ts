import { CompressionCodecs, CompressionTypes } from 'kafkajs';
import { compressionType, installKafkaCodecs, KAFKA_COMPRESSIONS, zstdAvailable } from './kafka-compression';

describe('kafka compression', () => {
  it('maps every KAFKA_COMPRESSION value to kafkajs compression types', () => {
    expect(KAFKA_COMPRESSIONS.map((c) => compressionType(c))).toEqual([CompressionTypes.None, CompressionTypes.GZIP, CompressionTypes.ZSTD]);
  });

  it('registers a zstd codec that round-trips a batch of envelopes and shrinks it', async () => {
    expect(zstdAvailable()).toBe(true);
    installKafkaCodecs();
    installKafkaCodecs(); // idempotent
    const codec = (CompressionCodecs as Record<number, () => { compress(e: { buffer: Buffer }): Promise<Buffer>; decompress(b: Buffer): Promise<Buffer> }>)[
      CompressionTypes.ZSTD
    ]?.();
    if (!codec) throw new Error('no zstd codec registered');
    const body = Buffer.from(
      Array.from({ length: 500 }, (_, i) => JSON.stringify({ specversion: '1.0', id: `e-${i}`, type: 'cs.health.score.changed.v1', subject: `acc-${i % 40}`, data: { score: i % 100 } })).join(''),
    );
    const packed = await codec.compress({ buffer: body });
    expect(packed.length).toBeLessThan(body.length / 5);
    expect((await codec.decompress(packed)).equals(body)).toBe(true);
  });
});
