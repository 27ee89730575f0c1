import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from 'js-yaml';

/**
 * The ingestion API description, docs/api/ingestion.openapi.yaml: written by hand next to the
 * code, served at /docs, and checked against the registered routes by a test. The build copies
 * docs/api into dist/, so the relative path holds for both the sources and dist/.
 */
export const INGESTION_OPENAPI_PATH = join(__dirname, '..', '..', '..', '..', '..', 'docs', 'api', 'ingestion.openapi.yaml');

export function ingestionOpenApi(): Record<string, unknown> {
  return load(readFileSync(INGESTION_OPENAPI_PATH, 'utf8')) as Record<string, unknown>;
}

/**
 * How ingestion's HTTP server is set up (main.ts and the tests use the same): bodies up to 4 MB
 * reach the handlers, which answer 400 naming the Segment limit (32 KB per message, 500 KB per
 * batch) instead of a bare 413; raw bodies are kept to verify webhook signatures; SDK bodies may
 * be gzipped (RudderStack's default) and declared as a form or as text.
 */
export function ingestionHttpOptions() {
  return {
    bodyLimit: 4 * 1024 * 1024,
    rawBody: true,
    decompressBodies: true,
    jsonContentTypes: ['application/x-www-form-urlencoded', 'text/plain'],
    openApi: ingestionOpenApi(),
  };
}
