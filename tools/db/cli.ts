/**
 * Database tasks for every service schema.
 *   run [service...]           apply pending migrations (services also do this at startup)
 *   check                      fail when entities and migrations are out of step
 *   generate <service> <Name>  write the migration that brings the schema in step with the entities
 * Uses DATABASE_URL (default postgres://postgres@127.0.0.1:5432/kizuna); check and generate
 * work in a scratch database "<name>_schemacheck" on the same server.
 */
import 'reflect-metadata';
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_DATABASE_URL } from '@kizuna/shared/config';
import { createDataSource, ensureDatabase, runServiceMigrations } from '@kizuna/shared/persistence';
import { SERVICE_DATA } from './data-specs';
import { diffAgainstMigrations, withDatabase } from './schema-tools';

const url = process.env['DATABASE_URL'] || DEFAULT_DATABASE_URL;
const scratchUrl = withDatabase(url, `${new URL(url).pathname.slice(1) || 'kizuna'}_schemacheck`);

function serviceData(name: string) {
  const data = SERVICE_DATA[name];
  if (!data) throw new Error(`unknown service "${name}" (known: ${Object.keys(SERVICE_DATA).join(', ')})`);
  return data;
}

async function run(services: string[]): Promise<void> {
  await ensureDatabase(url);
  for (const name of services) {
    const { spec } = serviceData(name);
    const ds = createDataSource(spec, { url, poolSize: 2 });
    await ds.initialize();
    try {
      const applied = await runServiceMigrations(ds, spec.schema);
      console.log(`${name}: ${applied.length ? `applied ${applied.join(', ')}` : 'up to date'}`);
    } finally {
      await ds.destroy();
    }
  }
}

async function check(): Promise<number> {
  let failures = 0;
  for (const [name, { spec }] of Object.entries(SERVICE_DATA)) {
    const diff = await diffAgainstMigrations(spec, scratchUrl);
    if (diff.up.length === 0) {
      console.log(`${name}: entities and migrations in step`);
      continue;
    }
    failures++;
    console.error(`${name}: entities and migrations are OUT OF STEP; a new migration would run:`);
    for (const q of diff.up) console.error(`  ${q};`);
    console.error(`  fix: npm run db:generate -- ${name} <MigrationName>`);
  }
  return failures ? 1 : 0;
}

function quote(sql: string): string {
  return '`' + sql.replace(/\\/g, '\\\\').replace(/`/g, '\\`').replace(/\$\{/g, '\\${') + '`';
}

async function generate(service: string, name: string): Promise<void> {
  if (!/^[A-Z][A-Za-z0-9]+$/.test(name)) throw new Error('migration name must be PascalCase, e.g. AddSupportContacts');
  const { spec, migrationsDir } = serviceData(service);
  const diff = await diffAgainstMigrations(spec, scratchUrl);
  if (diff.up.length === 0) {
    console.log(`${service}: nothing to generate, entities and migrations are in step`);
    return;
  }
  const ts = Date.now();
  const className = `${name}${ts}`;
  const file = `${ts}-${name.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase()}`;
  const body = `import type { MigrationInterface, QueryRunner } from 'typeorm';

export class ${className} implements MigrationInterface {
  name = '${className}';

  async up(q: QueryRunner): Promise<void> {
${diff.up.map((s) => `    await q.query(${quote(s)});`).join('\n')}
  }

  async down(q: QueryRunner): Promise<void> {
${diff.down.map((s) => `    await q.query(${quote(s)});`).join('\n')}
  }
}
`;
  writeFileSync(join(migrationsDir, `${file}.ts`), body);
  const indexPath = join(migrationsDir, 'index.ts');
  const index = readFileSync(indexPath, 'utf8');
  const imports = [...index.matchAll(/^import \{ (\w+) \} from '(.+)';$/gm)].map((m) => ({ cls: m[1] ?? '', from: m[2] ?? '' }));
  imports.push({ cls: className, from: `./${file}` });
  writeFileSync(
    indexPath,
    `${imports.map((i) => `import { ${i.cls} } from '${i.from}';`).join('\n')}\n\n` +
      `/** In the order they run. Written by \`npm run db:generate\`. */\n` +
      `export const MIGRATIONS: (new () => unknown)[] = [${imports.map((i) => i.cls).join(', ')}];\n`,
  );
  console.log(`wrote ${migrationsDir}/${file}.ts (${diff.up.length} statements)`);
}

async function main(): Promise<number> {
  const [cmd, ...args] = process.argv.slice(2);
  const known = Object.keys(SERVICE_DATA);
  for (const a of cmd === 'generate' ? args.slice(0, 1) : cmd === 'run' ? args : []) serviceData(a);
  switch (cmd) {
    case 'run':
      await run(args.length ? args : known);
      return 0;
    case 'check':
      return check();
    case 'generate': {
      const [service, name] = args;
      if (args.length !== 2 || !service || !name) throw new Error('usage: generate <service> <MigrationName>');
      await generate(service, name);
      return 0;
    }
    default:
      console.error('usage: db <run [service...] | check | generate <service> <Name>>');
      return 2;
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`db: ${(e as Error).message}`);
    process.exit(1);
  },
);
