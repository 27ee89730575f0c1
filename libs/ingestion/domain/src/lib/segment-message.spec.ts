import { effectiveTimestamp, mergeBatchDefaults, validateSegmentMessage } from './segment-message';
import { checkBatch, checkMessageSize } from './limits';
import { ingestEventId } from './event-id';

describe('validateSegmentMessage', () => {
  it('accepts a track call and fills the type from the endpoint', () => {
    const r = validateSegmentMessage({ userId: 'u1', event: 'Report Shared', properties: { a: 1 }, _metadata: { nodeVersion: '22' } }, 'track');
    expect(r).toEqual({ ok: true, message: { type: 'track', userId: 'u1', event: 'Report Shared', properties: { a: 1 } } });
  });

  it('turns numeric ids into strings', () => {
    const r = validateSegmentMessage({ type: 'group', userId: 42, groupId: 7 });
    expect(r.ok && r.message).toMatchObject({ userId: '42', groupId: '7' });
  });

  it.each([
    ['not an object', 'x', undefined, 'message must be a JSON object'],
    ['no identity', { type: 'track', event: 'E' }, undefined, 'userId or anonymousId: one is required'],
    ['no type in a batch item', { userId: 'u' }, undefined, 'type: required (one of track, identify, group, page, screen, alias)'],
    ['an unknown type', { type: 'purchase', userId: 'u' }, undefined, 'type: must be one of track, identify, group, page, screen, alias'],
    ['the wrong type for the endpoint', { type: 'identify', userId: 'u' }, 'track', 'type: this endpoint takes "track" calls, not "identify"'],
    ['a track without event', { userId: 'u' }, 'track', 'event: required for track'],
    ['a group without groupId', { userId: 'u' }, 'group', 'groupId: required for group'],
    ['an alias without previousId', { userId: 'u' }, 'alias', 'previousId: required for alias'],
    ['a bad timestamp', { userId: 'u', event: 'E', timestamp: 'yesterday' }, 'track', 'timestamp: must match format "date-time"'],
    ['properties that are not an object', { userId: 'u', event: 'E', properties: [1] }, 'track', 'properties: must be object'],
    ['an empty userId', { userId: '', event: 'E' }, 'track', 'userId: must be a non-empty string (at most 256 characters) or a number'],
  ] as const)('rejects %s with the reason', (_n, raw, type, reason) => {
    expect(validateSegmentMessage(raw, type)).toEqual({ ok: false, reason });
  });

  it('reports every problem at once', () => {
    const r = validateSegmentMessage({ userId: 'u', event: 'E', timestamp: 'x', context: 'y' }, 'track');
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toContain('context: must be object');
    expect(!r.ok && r.reason).toContain('timestamp: must match format "date-time"');
  });
});

describe('mergeBatchDefaults', () => {
  it('merges the outer context and integrations under the item\'s own keys', () => {
    const merged = mergeBatchDefaults(
      { type: 'track', context: { ip: '1.2.3.4', groupId: 'inner' } },
      { context: { groupId: 'outer', library: { name: 'x' } }, integrations: { All: true } },
    );
    expect(merged).toEqual({
      type: 'track',
      context: { groupId: 'inner', library: { name: 'x' }, ip: '1.2.3.4' },
      integrations: { All: true },
    });
  });

  it('applies the batch sentAt to items without their own', () => {
    expect(mergeBatchDefaults({ type: 'track' }, { sentAt: '2026-01-01T00:00:00Z' })).toEqual({ type: 'track', sentAt: '2026-01-01T00:00:00Z' });
    expect(mergeBatchDefaults({ type: 'track', sentAt: 'own' }, { sentAt: 'outer' })).toEqual({ type: 'track', sentAt: 'own' });
  });
});

describe('effectiveTimestamp', () => {
  const receivedAt = new Date('2026-05-01T12:00:10.000Z');
  it('corrects the client clock skew with sentAt', () => {
    expect(effectiveTimestamp({ timestamp: '2026-05-01T11:00:00.000Z', sentAt: '2026-05-01T11:00:05.000Z' }, receivedAt)).toBe('2026-05-01T12:00:05.000Z');
  });
  it('keeps the timestamp without sentAt and uses the receive time without either', () => {
    expect(effectiveTimestamp({ timestamp: '2026-05-01T11:00:00Z' }, receivedAt)).toBe('2026-05-01T11:00:00.000Z');
    expect(effectiveTimestamp({}, receivedAt)).toBe('2026-05-01T12:00:10.000Z');
  });
});

describe('limits', () => {
  it('names the limit exceeded', () => {
    expect(checkMessageSize(32 * 1024)).toBeUndefined();
    expect(checkMessageSize(32 * 1024 + 1)?.message).toBe('message is 32769 bytes; the limit is 32 KB (32768 bytes) per message');
    expect(checkBatch(500 * 1024, 2500)).toBeUndefined();
    expect(checkBatch(500 * 1024 + 1, 1)?.limit).toBe('batch-size');
    expect(checkBatch(10, 2501)?.message).toBe('batch has 2501 messages; the limit is 2500 messages per batch');
  });
});

describe('ingestEventId', () => {
  it('is a stable UUID per (source, messageId)', () => {
    const a = ingestEventId('src-1', 'm-1');
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(ingestEventId('src-1', 'm-1')).toBe(a);
    expect(ingestEventId('src-2', 'm-1')).not.toBe(a);
    expect(ingestEventId('src-1m', '-1')).not.toBe(ingestEventId('src-1', 'm-1'));
  });
});
