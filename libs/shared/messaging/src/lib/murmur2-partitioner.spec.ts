import { Partitioners, type PartitionerArgs, type PartitionMetadata } from 'kafkajs';
import { murmur2, Murmur2Partitioner } from './murmur2-partitioner';

const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2') as (key: string | Buffer) => number;

const partitions = (n: number, down: number[] = []): PartitionMetadata[] =>
  Array.from({ length: n }, (_, partitionId) => ({
    partitionId, leader: down.includes(partitionId) ? -1 : 1, replicas: [1], isr: [1], partitionErrorCode: 0, offlineReplicas: [],
  }));

const args = (key: string | Buffer | null, n: number, partition?: number, down: number[] = []): PartitionerArgs => ({
  topic: 't',
  partitionMetadata: partitions(n, down),
  message: { key, value: 'v', ...(partition !== undefined ? { partition } : {}) },
});

/** Deterministic keys of every length 0..63, ASCII and not (2- to 4-byte UTF-8, a lone surrogate). */
function keys(count: number): string[] {
  const alphabet = ['a', 'Z', '0', '-', '_', ':', 'é', '€', '😀', '\ud800', '\u007f', '\u0080'];
  let x = 12345;
  const next = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0);
  return Array.from({ length: count }, (_, i) => {
    let s = '';
    for (let j = 0; j < i % 64; j++) s += alphabet[next() % (i % 3 === 0 ? alphabet.length : 6)];
    return s;
  });
}

describe('murmur2', () => {
  it("gives Kafka's values (the Java client's test vectors)", () => {
    const vectors: [string, number][] = [
      ['21', -973932308], ['foobar', -790332482], ['a-little-bit-long-string', -985981536], ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971], ['abc', 479470107],
    ];
    for (const [key, hash] of vectors) {
      expect(murmur2(key)).toBe(hash);
      expect(murmur2(Buffer.from(key))).toBe(hash);
    }
  });

  it("gives kafkajs's value for string and Buffer keys of every length, ASCII or not", () => {
    for (const key of keys(20_000)) {
      expect(murmur2(key)).toBe(kafkajsMurmur2(key));
      const bytes = Buffer.from(key);
      expect(murmur2(bytes)).toBe(kafkajsMurmur2(bytes));
    }
    const long = 'ü'.repeat(1_000); // longer than the scratch buffer it starts with
    expect(murmur2(long)).toBe(kafkajsMurmur2(long));
  });
});

describe('Murmur2Partitioner', () => {
  it("puts every key where kafkajs's default partitioner does, for every partition count", () => {
    const ours = Murmur2Partitioner();
    const theirs = Partitioners.DefaultPartitioner();
    const sample = keys(3_000);
    for (const n of [1, 2, 3, 6, 12, 64]) {
      for (const key of sample) expect(ours(args(key, n))).toBe(theirs(args(key, n)));
      // A partition without a leader does not move a key (the Java client's legacy behaviour, and kafkajs's).
      for (const key of sample.slice(0, 200)) expect(ours(args(key, n, undefined, [0]))).toBe(theirs(args(key, n, undefined, [0])));
    }
  });

  it('keeps a partition the message names, and spreads keyless messages over the partitions with a leader', () => {
    const ours = Murmur2Partitioner();
    expect(ours(args('acc_1', 6, 4))).toBe(4);
    const keyless = Array.from({ length: 60 }, () => ours(args(null, 6, undefined, [1, 4])));
    expect(new Set(keyless)).toEqual(new Set([0, 2, 3, 5]));
    const noLeader = Array.from({ length: 12 }, () => ours(args(null, 3, undefined, [0, 1, 2])));
    expect(new Set(noLeader)).toEqual(new Set([0, 1, 2]));
  });
});
