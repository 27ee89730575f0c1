import { SERVICE_DATA } from './data-specs';
import { diffAgainstMigrations, withDatabase } from './schema-tools';

/** Fails when an entity changed without its migration (what `npm run db:check` reports). */
describe('each service schema: migrations and entities are in step', () => {
  const scratch = withDatabase(process.env['DATABASE_URL'] ?? '', 'kizuna_test_schemacheck');

  it.each(Object.keys(SERVICE_DATA))('%s', async (service) => {
    const data = SERVICE_DATA[service];
    if (!data) throw new Error(`no data spec for ${service}`);
    const diff = await diffAgainstMigrations(data.spec, scratch);
    expect(diff.up).toEqual([]);
  });
});
