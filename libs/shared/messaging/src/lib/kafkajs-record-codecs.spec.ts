import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { decodeRecord, encodeRecord, installFastRecordCodecs, kafkajsRecordDecoder, kafkajsRecordEncoder, nativeCrc32c, type RecordInput } from './kafkajs-record-codecs';

const bytes = (e: { buf: Buffer; offset: number }) => Buffer.from(e.buf.subarray(0, e.offset));

describe('the record encoder and decoder put in place of kafkajs', () => {
  let seed = 7;
  const rand = () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(rand() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;
  const texts = ['', 'a', 'acct-42', 'é', '日本語のテキスト', '😀 emoji', 'x'.repeat(63), 'y'.repeat(64), 'z'.repeat(200), '{"json":true}'.repeat(90)];
  const value = () => pick<unknown>([null, undefined, pick(texts), Buffer.from(pick(texts)), Buffer.alloc(int(300), 7), 12345]);
  const record = (): RecordInput => {
    const headers: Record<string, unknown> = {};
    for (let i = int(6); i > 0; i--) {
      headers[pick(['traceparent', 'ce_type', 'kizuna-product-event', 'kizuna-product-time', 'ключ', 'k'.repeat(int(140))])] =
        rand() < 0.2 ? [pick(texts), Buffer.from(pick(texts)), ...(rand() < 0.5 ? [pick(texts)] : [])] : rand() < 0.5 ? pick(texts) : Buffer.from(pick(texts));
    }
    return {
      offsetDelta: pick([0, 1, 63, 64, 8191, 8192, int(2 ** 20), 2 ** 30 + int(1000)]),
      timestampDelta: pick([0, 1, -1, 63, 64, -64, -65, int(2 ** 40), -int(2 ** 40), 2 ** 52, -(2 ** 52), 2 ** 53 + 2]),
      key: pick([null, undefined, pick(texts), Buffer.from(pick(texts))]),
      value: value(),
      ...(rand() < 0.2 ? {} : { headers }),
    };
  };

  it('writes the same bytes as kafkajs for every generated record', () => {
    const original = (installFastRecordCodecs(), kafkajsRecordEncoder());
    let compared = 0;
    for (let i = 0; i < 20000; i++) {
      const r = record();
      let expected: Buffer | { refused: string };
      try {
        expected = bytes(original(r));
      } catch (e) {
        expected = { refused: (e as Error).message }; // kafkajs refuses it (a number as value): so must this
      }
      if ('refused' in expected) expect(() => encodeRecord(r)).toThrow(expected.refused);
      else {
        const out = bytes(encodeRecord(r));
        if (!out.equals(expected)) expect({ i, r, out: out.toString('hex') }).toEqual({ i, r, out: expected.toString('hex') });
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(15000);
  });

  it('reads every generated record into the same object as kafkajs', () => {
    installFastRecordCodecs();
    const original = kafkajsRecordDecoder();
    const Decoder = require('kafkajs/src/protocol/decoder') as new (b: Buffer) => { readVarIntBytes(): Buffer };
    const big = ['9007199254740993', '-9007199254740993', '18446744073709551615'];
    let fast = 0;
    for (let i = 0; i < 10000; i++) {
      const r = record();
      let encoded: Buffer;
      try {
        encoded = bytes(encodeRecord(r));
      } catch {
        continue; // a number as value: kafkajs refuses to write it
      }
      const body = new Decoder(encoded).readVarIntBytes(); // what the batch decoder hands the record decoder
      const ctx = {
        firstOffset: rand() < 0.05 ? pick(big) : String(int(2 ** 40)),
        firstTimestamp: rand() < 0.05 ? pick(big) : pick(['-1', '0', String(1_796_000_000_000 + int(10 ** 9))]),
        magicByte: 2,
        isControlBatch: rand() < 0.1,
        timestampType: pick([0, 1]),
        maxTimestamp: pick([undefined, String(1_796_000_000_000 + int(10 ** 9))]),
      };
      const mine = decodeRecord(new Decoder(body) as never, ctx);
      const theirs = original(new Decoder(body) as never, ctx);
      const plain = (x: unknown) => JSON.stringify(x, (_k, v: unknown) => (v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer' ? `buf:${Buffer.from((v as { data: number[] }).data).toString('hex')}` : v));
      if (plain(mine) !== plain(theirs) || Object.keys(mine as object).join() !== Object.keys(theirs as object).join()) expect({ i, mine }).toEqual({ i, mine: theirs });
      if (!ctx.firstOffset.startsWith('9') && !ctx.firstOffset.startsWith('-9') && !ctx.firstOffset.startsWith('18')) fast++;
    }
    expect(fast).toBeGreaterThan(6000);
  });

  it('is what kafkajs takes once installed under OpenTelemetry, whose require hook remembers modules it has seen', () => {
    // In a Node process of its own: Jest's module registry is not Node's, and the hook patches Node's require.
    const script = `
      const { PgInstrumentation } = require('@opentelemetry/instrumentation-pg');
      new PgInstrumentation(); // enabled on construction: require-in-the-middle now sees every require
      require('kafkajs/src/protocol/recordBatch/record/v0'); // the hook remembers these exports
      require('kafkajs/src/protocol/recordBatch/record/v0/decoder');
      const codecs = require(${JSON.stringify(require.resolve('./kafkajs-record-codecs'))});
      codecs.installFastRecordCodecs();
      console.log(JSON.stringify({
        encoder: require('kafkajs/src/protocol/recordBatch/record/v0') === codecs.encodeRecord,
        decoder: require('kafkajs/src/protocol/recordBatch/record/v0/decoder') === codecs.decodeRecord,
        crc32c: require('kafkajs/src/protocol/recordBatch/crc32C') === codecs.nativeCrc32c(),
      }));`;
    const out = execFileSync(process.execPath, ['-r', '@swc-node/register', '-e', script], { cwd: join(__dirname, '../../../../..'), encoding: 'utf8' });
    expect(JSON.parse(out.trim().split('\n').pop() as string)).toEqual({ encoder: true, decoder: true, crc32c: true });
  });

  it('is what kafkajs takes once installed', () => {
    installFastRecordCodecs();
    expect(require('kafkajs/src/protocol/recordBatch/record/v0')).toBe(encodeRecord);
    expect(require('kafkajs/src/protocol/recordBatch/record/v0/decoder')).toBe(decodeRecord);
    expect(require('kafkajs/src/protocol/recordBatch/crc32C')).toBe(nativeCrc32c());
  });

  it("computes the record batch's checksum natively, with kafkajs's values", () => {
    const native = nativeCrc32c();
    expect(native).toBeDefined(); // @node-rs/crc32 ships a binary for this platform
    const kafkajsCrc = require('kafkajs/src/protocol/recordBatch/crc32C/crc32C') as (b: Buffer) => number;
    for (const n of [0, 1, 2, 3, 7, 8, 15, 16, 63, 64, 65, 511, 4096, 70_001]) {
      for (let i = 0; i < 5; i++) {
        const b = randomBytes(n);
        expect({ n, crc: native?.(b) }).toEqual({ n, crc: kafkajsCrc(b) });
      }
    }
    expect(native?.(Buffer.from('123456789'))).toBe(0xe3069283); // the CRC-32C check value
  });
});
