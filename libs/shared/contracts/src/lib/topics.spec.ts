import { deadLetterTopic } from './topics';

/** Loads topics.ts afresh with KAFKA_TOPIC_PREFIX set (it is read once, when the module loads). */
function topicsWith(prefix: string | undefined): typeof import('./topics') {
  const saved = process.env['KAFKA_TOPIC_PREFIX'];
  if (prefix === undefined) delete process.env['KAFKA_TOPIC_PREFIX'];
  else process.env['KAFKA_TOPIC_PREFIX'] = prefix;
  try {
    let loaded: typeof import('./topics') | undefined;
    jest.isolateModules(() => {
      loaded = jest.requireActual<typeof import('./topics')>('./topics');
    });
    return loaded as typeof import('./topics');
  } finally {
    if (saved === undefined) delete process.env['KAFKA_TOPIC_PREFIX'];
    else process.env['KAFKA_TOPIC_PREFIX'] = saved;
  }
}

describe('topic names', () => {
  it('are the bare names without a prefix', () => {
    const t = topicsWith(undefined);
    expect(t.TOPIC_PREFIX).toBe('');
    expect(t.Topics.product).toBe('cs.product.v1');
    expect(t.ALL_TOPICS).toHaveLength(11);
  });

  it('carry the installation\'s KAFKA_TOPIC_PREFIX, dead-letter twins and compacted topics included', () => {
    const t = topicsWith('staging.');
    expect(t.ALL_TOPICS.every((name) => name.startsWith('staging.cs.'))).toBe(true);
    expect(deadLetterTopic(t.Topics.product)).toBe('staging.cs.product.v1.dlq');
    expect(t.COMPACTED_TOPICS).toEqual(['staging.cs.roster.v1']);
  });

  it('refuse a prefix Kafka would not take, naming the variable', () => {
    expect(() => topicsWith('prod/eu')).toThrow('KAFKA_TOPIC_PREFIX may only contain letters, digits, ".", "_" and "-", at most 200 of them (got "prod/eu")');
    expect(() => topicsWith('x'.repeat(201))).toThrow(/at most 200/);
  });
});
