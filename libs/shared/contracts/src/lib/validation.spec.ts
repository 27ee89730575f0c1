import { ContractViolation, parseEvent, validatePayload } from './validation';
import { createEvent } from './envelope';
import { EventMap, eventTypesOn, isEventType, topicOf } from './event-map';
import { ALL_TOPICS, Topics, deadLetterTopic } from './topics';
import { HealthBand } from './enums';

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
