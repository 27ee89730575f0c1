import { Transform, plainToInstance } from 'class-transformer';
import { validateSync, type ValidationError } from 'class-validator';

/** Raised at startup when the environment does not satisfy the service's config schema. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

function flatten(errors: ValidationError[]): string[] {
  return errors.flatMap((e) => [
    ...Object.values(e.constraints ?? {}).map((m) => `${e.property}: ${m}`),
    ...flatten(e.children ?? []),
  ]);
}

/**
 * Reads the environment into a validated, typed config object.
 * The schema class declares each variable as a property (named as the env var) with its default.
 * Unknown env vars are ignored; invalid ones stop the service with a message naming each.
 */
export function loadConfig<T extends object>(
  schema: new () => T,
  env: Record<string, string | undefined> = process.env,
): T {
  const defaults = new schema() as Record<string, unknown>;
  const plain: Record<string, unknown> = {};
  for (const key of Object.keys(defaults)) {
    const v = env[key];
    plain[key] = v === undefined || v === '' ? defaults[key] : v;
  }
  const instance = plainToInstance(schema, plain, { enableImplicitConversion: true });
  const errors = validateSync(instance, { skipMissingProperties: false });
  if (errors.length) {
    throw new ConfigError(`invalid configuration for ${schema.name}: ${flatten(errors).join('; ')}`);
  }
  return instance;
}

/** Reads an env var as a boolean: true, 1 or yes (any case) are true, anything else false. */
export const EnvBoolean = () =>
  Transform(({ obj, key }: { obj: Record<string, unknown>; key: string }) => {
    const v = obj[key];
    return typeof v === 'boolean' ? v : ['true', '1', 'yes'].includes(String(v).toLowerCase());
  });
