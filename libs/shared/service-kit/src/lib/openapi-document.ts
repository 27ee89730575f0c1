import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from 'js-yaml';

/**
 * Reads an API description from docs/api/ (hand-written next to the code, served at /docs, and
 * checked against the registered routes by each service's test). The build copies docs/api into
 * dist/, so the path relative to this file holds for the sources and for dist/.
 */
export function openApiDocument(file: string): Record<string, unknown> {
  const path = join(__dirname, '..', '..', '..', '..', '..', 'docs', 'api', file);
  return load(readFileSync(path, 'utf8')) as Record<string, unknown>;
}
