/**
 * A faster encoder and decoder for kafkajs's records, giving the same bytes and the same objects.
 *
 * kafkajs (2.2.4, its last release) encodes each record through a chain of small writers: a zeroed
 * 512-byte buffer per record and per header, a temporary array and Buffer per varint, 64-bit Long
 * objects for the timestamp delta, and a copy of every header into the record. In the ingestion
 * service that was about a fifth of the CPU of POST /v1/batch (and most of its garbage). This
 * computes the record's size first and writes it once into one buffer; anything it was not written
 * for (a timestamp delta beyond 2^53, a header or key of another type) goes to kafkajs's own encoder.
 *
 * kafkajs loads its produce request modules on first use and they take the record encoder from
 * Node's module cache, so installing it before the first produce is enough (EventPublisher does;
 * see {@link replaceModuleExports} for how, under OpenTelemetry's require hook).
 * The decoder: kafkajs parses each record's offset and timestamp through its Int64 class (from and
 * to decimal strings) and copies the headers object once per header; see {@link decodeRecord}.
 * The spec compares both encoders and both decoders on generated records.
 *
 * The record batch's checksum (CRC-32C of the whole batch body): kafkajs computes it a byte at a time
 * in JavaScript, about 12 % of ingestion's CPU under POST /v1/batch. `@node-rs/crc32` computes the
 * same value natively (the CPU's CRC32 instruction, 15× faster on a 70 KB batch here); where its
 * binary does not load (a platform it ships none for), kafkajs's own stays in place.
 */

import { Module as NodeModule } from 'node:module';

interface KafkajsEncoder {
  buf: Buffer;
  offset: number;
}
type EncoderClass = new (initialSize?: number) => KafkajsEncoder;

export interface RecordInput {
  offsetDelta?: number;
  timestampDelta?: number;
  key?: unknown;
  value?: unknown;
  headers?: Record<string, unknown>;
}
type RecordEncoder = (record: RecordInput) => KafkajsEncoder;

const RECORD_MODULE = 'kafkajs/src/protocol/recordBatch/record/v0';
const CRC32C_MODULE = 'kafkajs/src/protocol/recordBatch/crc32C';

let crc32cFn: ((buffer: Buffer) => number) | null | undefined;

/** The native CRC-32C (unsigned, as kafkajs's), or undefined where `@node-rs/crc32` has no binary for this platform. */
export function nativeCrc32c(): ((buffer: Buffer) => number) | undefined {
  if (crc32cFn === undefined) {
    try {
      const { crc32c } = require('@node-rs/crc32') as { crc32c: (input: Buffer) => number };
      crc32cFn = (buffer: Buffer) => crc32c(buffer) >>> 0;
    } catch {
      crc32cFn = null;
    }
  }
  return crc32cFn ?? undefined;
}

/** kafkajs's own record encoder (the module's original export). */
export const kafkajsRecordEncoder = (): RecordEncoder => original;

let original: RecordEncoder;
let EncoderCtor: EncoderClass;
let installed = false;

function load(): void {
  if (EncoderCtor) return;
  EncoderCtor = require('kafkajs/src/protocol/encoder') as EncoderClass;
  original = require(RECORD_MODULE) as RecordEncoder;
  originalDecoder = require(RECORD_DECODER_MODULE) as RecordDecoder;
}

/** Zigzag of a 32-bit value, as kafkajs's Encoder.encodeZigZag. */
const zigzag32 = (v: number) => (v << 1) ^ (v >> 31);

function sizeOfUVarInt32(v: number): number {
  let bytes = 1;
  while ((v & 0xffffff80) !== 0) {
    bytes++;
    v >>>= 7;
  }
  return bytes;
}

function writeUVarInt32(buf: Buffer, at: number, v: number): number {
  while ((v & 0xffffff80) !== 0) {
    buf[at++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[at++] = v & 0x7f;
  return at;
}

/** Zigzag of a safe integer as an unsigned number (below 2^54). */
const zigzag53 = (v: number) => (v >= 0 ? v * 2 : -v * 2 - 1);

function sizeOfUVarLong(v: number): number {
  let bytes = 1;
  while (v >= 128) {
    bytes++;
    v = Math.floor(v / 128);
  }
  return bytes;
}

function writeUVarLong(buf: Buffer, at: number, v: number): number {
  while (v >= 128) {
    buf[at++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[at++] = v;
  return at;
}

/** A key, value or header value as kafkajs writes it: null → -1, a Buffer as is, a string as UTF-8. */
type Bytes = { buffer: Buffer; length: number } | { text: string; length: number } | null;

/** Any other type (kafkajs's own encoder decides what it does with a number, say) gives undefined. */
function bytesOf(value: unknown): Bytes | undefined {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return { text: value, length: Buffer.byteLength(value, 'utf8') };
  if (Buffer.isBuffer(value)) return { buffer: value, length: value.length };
  return undefined;
}

const sizeOfBytes = (b: Bytes) => (b === null ? 1 : sizeOfUVarInt32(zigzag32(b.length)) + b.length);

function writeBytes(buf: Buffer, at: number, b: Bytes): number {
  if (b === null) return writeUVarInt32(buf, at, zigzag32(-1));
  at = writeUVarInt32(buf, at, zigzag32(b.length));
  if ('buffer' in b) b.buffer.copy(buf, at);
  else buf.write(b.text, at, b.length, 'utf8');
  return at + b.length;
}

/** The same bytes as kafkajs's record v0 encoder, in one buffer. */
export function encodeRecord(record: RecordInput): KafkajsEncoder {
  load();
  const { offsetDelta = 0, timestampDelta = 0, key, value, headers = {} } = record;
  if (!Number.isSafeInteger(timestampDelta) || Math.abs(timestampDelta) > 2 ** 52 || !Number.isInteger(offsetDelta)) return original(record);
  const pairs: { key: Bytes; value: Bytes }[] = [];
  for (const k of Object.keys(headers)) {
    const v = headers[k];
    const keyBytes = bytesOf(k) as Bytes;
    for (const each of Array.isArray(v) ? v : [v]) {
      const valueOf = bytesOf(each);
      if (valueOf === undefined) return original(record);
      pairs.push({ key: keyBytes, value: valueOf });
    }
  }
  const keyBytes = bytesOf(key);
  const valueBytes = bytesOf(value);
  if (keyBytes === undefined || valueBytes === undefined) return original(record);
  const ts = zigzag53(timestampDelta);
  let body = 1 + sizeOfUVarLong(ts) + sizeOfUVarInt32(zigzag32(offsetDelta)) + sizeOfBytes(keyBytes) + sizeOfBytes(valueBytes);
  body += sizeOfUVarInt32(zigzag32(pairs.length));
  for (const p of pairs) body += sizeOfBytes(p.key) + sizeOfBytes(p.value);
  const total = sizeOfUVarInt32(zigzag32(body)) + body;

  const buf = Buffer.allocUnsafe(total);
  let at = writeUVarInt32(buf, 0, zigzag32(body));
  buf[at++] = 0; // attributes
  at = writeUVarLong(buf, at, ts);
  at = writeUVarInt32(buf, at, zigzag32(offsetDelta));
  at = writeBytes(buf, at, keyBytes);
  at = writeBytes(buf, at, valueBytes);
  at = writeUVarInt32(buf, at, zigzag32(pairs.length));
  for (const p of pairs) {
    at = writeBytes(buf, at, p.key);
    at = writeBytes(buf, at, p.value);
  }
  const encoder = new EncoderCtor(1);
  encoder.buf = buf;
  encoder.offset = at;
  return encoder;
}

// ---- decoding ----------------------------------------------------------------------------------

interface KafkajsDecoder {
  buffer: Buffer;
  offset: number;
  readInt8(): number;
  readVarInt(): number;
  readVarIntBytes(): Buffer | null;
  readVarIntString(): string | null;
}
interface BatchContext {
  firstOffset?: string;
  firstTimestamp?: string;
  magicByte?: number;
  isControlBatch?: boolean;
  timestampType?: number;
  maxTimestamp?: string;
}
type RecordDecoder = (decoder: KafkajsDecoder, batchContext?: BatchContext) => unknown;

const RECORD_DECODER_MODULE = 'kafkajs/src/protocol/recordBatch/record/v0/decoder';
let originalDecoder: RecordDecoder;
/** kafkajs's own record decoder (the module's original export). */
export const kafkajsRecordDecoder = (): RecordDecoder => (load(), originalDecoder);
const LOG_APPEND_TIME = 1; // kafkajs's TimestampTypes.LOG_APPEND_TIME

/** A decimal string kafkajs made from an Int64, as a number when it is a safe integer. */
function safeNumber(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) && String(n) === text ? n : undefined;
}
/** The batch's first offset and timestamp as numbers, parsed once per batch (every record shares the context). */
const bases = new WeakMap<BatchContext, { offset: number; timestamp: number } | null>();
function baseOf(ctx: BatchContext) {
  let base = bases.get(ctx);
  if (base === undefined) {
    const offset = safeNumber(ctx.firstOffset);
    const timestamp = safeNumber(ctx.firstTimestamp);
    base = offset === undefined || timestamp === undefined ? null : { offset, timestamp };
    bases.set(ctx, base);
  }
  return base;
}

/** A zigzag varlong as a number, or undefined beyond 7 bytes (49 bits) or at the end of the buffer. */
function readVarLong(d: KafkajsDecoder): number | undefined {
  let result = 0;
  let scale = 1;
  for (let i = 0; i < 7; i++) {
    const byte = d.buffer[d.offset++];
    if (byte === undefined) return undefined;
    result += (byte & 0x7f) * scale;
    if (byte < 0x80) return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
    scale *= 128;
  }
  return undefined;
}

/**
 * The same record object as kafkajs's record v0 decoder (offset and timestamp as decimal strings,
 * key and value as Buffers, repeated header keys as arrays), with plain numbers instead of its
 * Int64 arithmetic and one headers object instead of a copy per header. Anything beyond safe
 * integers, or a header named __proto__, goes to kafkajs's own decoder.
 */
export function decodeRecord(decoder: KafkajsDecoder, batchContext: BatchContext = {}): unknown {
  load();
  const base = baseOf(batchContext);
  if (!base) return originalDecoder(decoder, batchContext);
  const start = decoder.offset;
  const attributes = decoder.readInt8();
  const timestampDelta = readVarLong(decoder);
  const offsetDelta = timestampDelta === undefined ? 0 : decoder.readVarInt();
  const timestampAt = timestampDelta === undefined ? Number.NaN : base.timestamp + timestampDelta;
  if (!Number.isSafeInteger(timestampAt) || !Number.isSafeInteger(base.offset + offsetDelta)) {
    decoder.offset = start;
    return originalDecoder(decoder, batchContext);
  }
  const { magicByte, isControlBatch = false, timestampType, maxTimestamp } = batchContext;
  const key = decoder.readVarIntBytes();
  const value = decoder.readVarIntBytes();
  const headers: Record<string, unknown> = {};
  const count = decoder.readVarInt();
  for (let i = 0; i < count; i++) {
    const name = String(decoder.readVarIntString());
    const v = decoder.readVarIntBytes();
    if (name === '__proto__') {
      decoder.offset = start;
      return originalDecoder(decoder, batchContext);
    }
    const had = headers[name];
    headers[name] = had === undefined ? v : Array.isArray(had) ? had.concat([v]) : [had, v];
  }
  return {
    magicByte,
    attributes,
    timestamp: timestampType === LOG_APPEND_TIME && maxTimestamp ? maxTimestamp : String(timestampAt),
    offset: String(base.offset + offsetDelta),
    key,
    value,
    headers,
    isControlRecord: isControlBatch,
    batchContext,
  };
}

/**
 * Puts {@link encodeRecord} and {@link decodeRecord} in place of kafkajs's record encoder and decoder,
 * and the native CRC-32C in place of its checksum (once; before the first produce and the first fetch: EventPublisher and ConsumerRunner call it).
 */
export function installFastRecordCodecs(): void {
  if (installed) return;
  load();
  replaceModuleExports(RECORD_MODULE, encodeRecord);
  replaceModuleExports(RECORD_DECODER_MODULE, decodeRecord);
  // Taken by kafkajs's record batch module when it loads, with the produce request, on first use.
  const crc = nativeCrc32c();
  if (crc) {
    require(CRC32C_MODULE); // in the module registry first (Jest's reads the cached entry's exports)
    replaceModuleExports(CRC32C_MODULE, crc);
  }
  installed = true;
}

/**
 * Makes `require(id)` return `replacement` from now on. The cache entry becomes a new Module object
 * rather than the old one with new exports: require hooks that remember a module's exports on its
 * cached Module object would otherwise keep handing out the original. OpenTelemetry's
 * require-in-the-middle does that for every file inside a package it does not instrument (kafkajs's
 * record modules included), so under telemetry the old way left kafkajs's own codec in use.
 */
function replaceModuleExports(id: string, replacement: unknown): void {
  const filename = require.resolve(id);
  const cached = require.cache[filename];
  if (cached) cached.exports = replacement; // Jest's module registry reads this one
  const fresh = new NodeModule(filename, cached?.parent ?? undefined);
  fresh.filename = filename;
  fresh.paths = cached?.paths ?? [];
  fresh.exports = replacement;
  fresh.loaded = true;
  require.cache[filename] = fresh;
}
