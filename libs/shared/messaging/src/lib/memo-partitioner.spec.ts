import { Partitioners, type PartitionerArgs, type PartitionMetadata } from 'kafkajs';
import { MemoPartitioner } from './memo-partitioner';

const partitions = (n: number): PartitionMetadata[] =>
  Array.from({ length: n }, (_, partitionId) => ({ partitionId, leader: 1, replicas: [1], isr: [1], partitionErrorCode: 0, offlineReplicas: [] }));

const args = (key: string | Buffer | null, n: number, partition?: number): PartitionerArgs => ({
  topic: 't',
  partitionMetadata: partitions(n),
  message: { key, value: 'v', ...(partition !== undefined ? { partition } : {}) },
});

describe('MemoPartitioner', () => {
  it('puts every key where kafkajs\'s default partitioner does, first time and remembered, for every partition count', () => {
    const memo = MemoPartitioner();
    const plain = Partitioners.DefaultPartitioner();
    for (const n of [1, 2, 3, 6, 12, 64]) {
      for (let i = 0; i < 2_000; i++) {
        const key = `acc_${(i * 7919) % 1_500}-${'é'.repeat(i % 3)}`; // repeats, and non-ASCII keys
        expect(memo(args(key, n))).toBe(plain(args(key, n)));
      }
    }
  });

  it('leaves explicit partitions, Buffer keys and keyless messages to kafkajs', () => {
    const memo = MemoPartitioner();
    const plain = Partitioners.DefaultPartitioner();
    expect(memo(args('acc_1', 6, 4))).toBe(4);
    const buffer = Buffer.from('acc_1');
    expect(memo(args(buffer, 6))).toBe(plain(args(buffer, 6)));
    const keyless = new Set(Array.from({ length: 24 }, () => memo(args(null, 6))));
    expect(keyless.size).toBeGreaterThan(1); // round robin, not one remembered answer
  });

  it('forgets when it holds too many keys, and still answers right', () => {
    const memo = MemoPartitioner();
    const plain = Partitioners.DefaultPartitioner();
    for (let i = 0; i < 100_050; i++) memo(args(`k${i}`, 6));
    for (const i of [0, 99_999, 100_049]) expect(memo(args(`k${i}`, 6))).toBe(plain(args(`k${i}`, 6)));
  });
});
