import { ConfigError, loadConfig } from './load-config';
import { ServiceConfig, kafkaBrokers } from './service-config';

describe('loadConfig', () => {
  it('applies defaults when the environment is empty', () => {
    const c = loadConfig(ServiceConfig, {});
    expect(c.KAFKA_BROKERS).toBe('127.0.0.1:9092');
    expect(c.KAFKA_TOPIC_PARTITIONS).toBe(6);
    expect(c.DATABASE_URL).toBe('postgres://postgres@127.0.0.1:5432/kizuna');
    expect(c.PORT).toBeUndefined();
  });

  it('converts numbers and keeps given values', () => {
    const c = loadConfig(ServiceConfig, { PORT: '4000', KAFKA_BROKERS: 'a:1,b:2', LOG_LEVEL: 'debug', KAFKA_TOPIC_PARTITIONS: '3' });
    expect(c.PORT).toBe(4000);
    expect(c.KAFKA_TOPIC_PARTITIONS).toBe(3);
    expect(kafkaBrokers(c)).toEqual(['a:1', 'b:2']);
    expect(c.LOG_LEVEL).toBe('debug');
  });

  it('names every invalid variable', () => {
    expect(() => loadConfig(ServiceConfig, { PORT: 'abc', DATABASE_URL: 'mysql://x', LOG_LEVEL: 'loud' })).toThrow(ConfigError);
    const bad = () => loadConfig(ServiceConfig, { PORT: '99999', DATABASE_URL: 'mysql://x' });
    expect(bad).toThrow(/PORT: PORT must not be greater than 65535/);
    expect(bad).toThrow(/DATABASE_URL must be a postgres/);
  });
});
