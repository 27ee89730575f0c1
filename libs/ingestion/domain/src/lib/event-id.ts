import { hash } from 'node:crypto';

/**
 * A deterministic CloudEvents id for an ingested message: the same (source, messageId) always
 * gives the same id, so even a re-publication after a crash is deduplicated by every consumer.
 * Formatted as a UUID (version 8: custom, hash-based).
 */
export function ingestEventId(sourceId: string, messageId: string): string {
  const h = hash('sha256', `${sourceId}\u0000${messageId}`, 'hex');
  const variant = ((parseInt(h.charAt(16), 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
