import { openApiDocument } from '@kizuna/shared/service-kit';

/** The ingestion API description, docs/api/ingestion.openapi.yaml (served at /docs). */
export function ingestionOpenApi(): Record<string, unknown> {
  return openApiDocument('ingestion.openapi.yaml');
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
