import { ContractViolation, parseEvent, validatePayload } from './validation';
import { createEvent } from './envelope';
import { EventMap, eventTypesOn, isEventType, topicOf } from './event-map';
import { ALL_TOPICS, Topics, deadLetterTopic } from './topics';
import { HealthBand } from './enums';
import { ProductEventV1, isValidProductEvent } from './events/product';
import { validateSync } from 'class-validator';

const track = {
  kind: 'track', sourceId: 's', messageId: 'm1', accountId: 'acc-1', userId: 'u1', event: 'Login',
  properties: {}, timestamp: '2026-01-01T00:00:00.000Z', receivedAt: '2026-01-01T00:00:01.000Z',
};

function envelope(overrides: Record<string, unknown> = {}) {
  return JSON.stringify({ ...createEvent('test', { type: 'cs.product.track.v1', subject: 'acc-1', data: track as never }, new Date('2026-01-01T00:00:00Z')), ...overrides });
}

describe('event map', () => {
  it('maps every event type to a known topic', () => {
    for (const type of Object.keys(EventMap)) {
      expect(isEventType(type)).toBe(true);
      expect(ALL_TOPICS).toContain(topicOf(type as keyof typeof EventMap));
    }
  });

  it('lists the types on a topic and names dead-letter topics', () => {
    expect(eventTypesOn(Topics.product)).toEqual(['cs.product.track.v1', 'cs.product.page.v1', 'cs.product.screen.v1']);
    expect(deadLetterTopic(Topics.product)).toBe('cs.product.v1.dlq');
    expect(isEventType('cs.unknown.v1')).toBe(false);
  });
});

describe('parseEvent', () => {
  it('returns a validated, typed event', () => {
    const e = parseEvent(Buffer.from(envelope()));
    expect(e.type).toBe('cs.product.track.v1');
    expect(e.subject).toBe('acc-1');
    expect(e.specversion).toBe('1.0');
    expect(e.data).toMatchObject({ event: 'Login', accountId: 'acc-1' });
  });

  it.each([
    ['null value', null, /message has no value/],
    ['not JSON', '{oops', /not valid JSON/],
    ['a JSON array', '[1,2]', /must be a JSON object/],
    ['a wrong spec version', envelope({ specversion: '0.3' }), /specversion: must be "1.0"/],
    ['a missing subject', envelope({ subject: '' }), /subject: must be a non-empty string/],
    ['a bad time', envelope({ time: 'yesterday' }), /time: must be an RFC 3339 timestamp/],
    ['an unknown type', envelope({ type: 'cs.nope.v1' }), /unknown event type "cs.nope.v1"/],
    ['data that is not an object', envelope({ data: 'x' }), /data: must be a JSON object/],
    ['a payload missing a field', envelope({ data: { ...track, accountId: undefined } }), /data.accountId/],
    ['a payload with an unknown field', envelope({ data: { ...track, tenant: 'x' } }), /data.tenant: property tenant should not exist/],
  ])('rejects %s with the reason', (_name, raw, reason) => {
    expect(() => parseEvent(raw as string | null)).toThrow(ContractViolation);
    expect(() => parseEvent(raw as string | null)).toThrow(reason);
  });
});

describe('validatePayload', () => {
  it('validates nested payloads', () => {
    const ok = validatePayload('cs.health.score.changed.v1', {
      score: 55, band: HealthBand.Caution, previousScore: null, previousBand: null, scorecardId: 'x', scorecardVersion: 1,
      topMovers: [{ component: 'engagement', measure: 'events_7d', deltaPoints: 5 }], computedAt: '2026-01-01T00:00:00.000Z',
    });
    expect(ok.band).toBe('caution');
    expect(() =>
      validatePayload('cs.health.score.changed.v1', {
        score: 101, band: 'great', previousScore: null, previousBand: null, scorecardId: 'x', scorecardVersion: 1,
        topMovers: [{ component: 'engagement' }], computedAt: 'now',
      }),
    ).toThrow(/score: score must not be greater than 100.*band.*topMovers.0.measure.*computedAt/);
  });
});

describe('the hand-written check of product events', () => {
  // A small seeded generator: the same cases on every run.
  let seed = 20261202;
  const rand = () => {
    // mulberry32
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const fields = ['kind', 'sourceId', 'messageId', 'accountId', 'userId', 'anonymousId', 'event', 'name', 'properties', 'context', 'timestamp', 'receivedAt'];
  const values: unknown[] = [
    undefined, null, '', 'x', 0, 1.5, true, [], ['a'], {}, { a: 1 }, 'track', 'page', 'screen', 'identify',
    'a'.repeat(128), 'a'.repeat(129), 'a'.repeat(256), 'a'.repeat(257), 'a'.repeat(512), 'a'.repeat(513),
    '😀'.repeat(128), '😀'.repeat(129), '😀'.repeat(200), '\uFE0F'.repeat(300),
    '2026-01-01', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00.000+09:00', '2026-13-01T00:00:00Z', 'yesterday', '20260101T000000Z',
  ];
  const base = () => ({ ...track, anonymousId: 'anon-1', context: { ip: '1.2.3.4' } }) as Record<string, unknown>;
  // class-validator itself, with validatePayload's options (validatePayload would take the hand check).
  const strict = (data: object) =>
    validateSync(Object.assign(new ProductEventV1(), data), { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true }).length === 0;

  it('takes the valid events itself and never accepts one class-validator rejects', () => {
    let accepted = 0;
    let rejected = 0;
    for (let i = 0; i < 5000; i++) {
      const data = base();
      const mutations = i % 5 === 0 ? 0 : 1 + Math.floor(rand() * 3);
      for (let j = 0; j < mutations; j++) {
        const field = rand() < 0.1 ? `extra${j}` : pick(fields);
        const value = pick(values);
        if (value === undefined) delete data[field];
        else data[field] = value;
      }
      const plain = JSON.parse(JSON.stringify(data)) as Record<string, unknown>;
      const fast = isValidProductEvent(plain);
      const slow = strict(plain);
      if (fast) expect({ plain, slow }).toEqual({ plain, slow: true });
      if (mutations === 0) expect(fast).toBe(true);
      if (fast) accepted++;
      if (!slow) rejected++;
    }
    expect(accepted).toBeGreaterThan(1000);
    expect(rejected).toBeGreaterThan(1000);
  });

  it('leaves the wording of errors to class-validator', () => {
    expect(() => validatePayload('cs.product.track.v1', { ...track, sourceId: '', extra: 1 })).toThrow(
      'data.extra: property extra should not exist; data.sourceId: sourceId should not be empty',
    );
  });
});
