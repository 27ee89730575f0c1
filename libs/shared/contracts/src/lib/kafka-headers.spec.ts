import { EventHeader, eventHeaders } from './kafka-headers';

describe('eventHeaders', () => {
  it('names the type of every event, and the name and time of a product track event only', () => {
    expect(eventHeaders({ type: 'cs.product.track.v1', data: { event: 'Seat Limit Reached', timestamp: '2026-02-01T10:00:00.000Z' } })).toEqual({
      [EventHeader.type]: 'cs.product.track.v1',
      [EventHeader.productEvent]: 'Seat Limit Reached',
      [EventHeader.productTime]: '2026-02-01T10:00:00.000Z',
    });
    expect(eventHeaders({ type: 'cs.product.page.v1', data: { event: 'x', name: 'Home' } })).toEqual({ [EventHeader.type]: 'cs.product.page.v1' });
    expect(eventHeaders({ type: 'cs.product.track.v1', data: {} })).toEqual({ [EventHeader.type]: 'cs.product.track.v1' });
  });

  it('adds nothing for a value without a type (it is parsed, and dead-lettered, as usual)', () => {
    expect(eventHeaders({ data: { event: 'x' } })).toEqual({});
    expect(eventHeaders({ type: 42 })).toEqual({});
  });
});
