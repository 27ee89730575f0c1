import { ConflictException, Inject, Injectable, NotFoundException, type OnApplicationBootstrap } from '@nestjs/common';
import { createHash, randomBytes } from 'node:crypto';
import { DataSource, In, IsNull } from 'typeorm';
import type { Logger } from 'pino';
import { CLOCK, type Clock } from '@kizuna/shared/contracts';
import { SERVICE_LOGGER, SecretBox } from '@kizuna/shared/service-kit';
import { Source, SourceKey, SourceSecret } from '@kizuna/ingestion/data-access';
import { IngestionConfig } from './ingestion.config';

export const hashKey = (key: string) => createHash('sha256').update(key).digest('hex');
const newId = (prefix: string) => `${prefix}_${randomBytes(9).toString('base64url')}`;
const newWriteKey = () => `kz_${randomBytes(24).toString('base64url')}`;

export interface SourceView {
  id: string;
  name: string;
  createdAt: string;
  revokedAt: string | null;
  keys: { id: string; hint: string; createdAt: string; expiresAt: string | null }[];
}

export interface IssuedKey {
  source: SourceView;
  /** Shown once; only its hash is stored. */
  writeKey: string;
}

/**
 * Sources and their write keys: created, listed, rotated, revoked. Lookups are cached for
 * INGESTION_KEY_CACHE_TTL_MS (30 s), so a revocation takes effect within that on every instance.
 */
@Injectable()
export class SourceRegistry implements OnApplicationBootstrap {
  private readonly cache = new Map<string, { sourceId: string | null; until: number }>();
  private readonly secretCache = new Map<string, { secrets: string[]; until: number }>();
  private readonly box?: SecretBox;

  constructor(
    private readonly ds: DataSource,
    private readonly config: IngestionConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(SERVICE_LOGGER) private readonly logger: Logger,
  ) {
    if (config.INGESTION_SECRET_KEY) this.box = new SecretBox(config.INGESTION_SECRET_KEY, 'INGESTION_SECRET_KEY');
  }

  async onApplicationBootstrap(): Promise<void> {
    const key = this.config.INGESTION_BOOTSTRAP_WRITE_KEY;
    if (!key) return;
    await this.ds.transaction(async (m) => {
      await m.query(`INSERT INTO ${m.connection.getMetadata(Source).tablePath} (id, name) VALUES ('default', 'default') ON CONFLICT (id) DO NOTHING`);
      await m.query(
        `INSERT INTO ${m.connection.getMetadata(SourceKey).tablePath} (id, source_id, key_hash, hint) VALUES ($1, 'default', $2, $3)
         ON CONFLICT (key_hash) DO NOTHING`,
        [newId('key'), hashKey(key), key.slice(-4)],
      );
    });
    this.logger.info({ sourceId: 'default' }, 'bootstrap write key accepted for source "default"');
  }

  /** The source a write key belongs to, or undefined for an unknown, expired or revoked key. */
  async authenticate(writeKey: string): Promise<string | undefined> {
    // Cached by the key itself (each request carries it anyway): no SHA-256 per request on a hit.
    const now = Date.now();
    const hit = this.cache.get(writeKey);
    if (hit && hit.until > now) return hit.sourceId ?? undefined;
    const hash = hashKey(writeKey);
    const rows: { source_id: string }[] = await this.ds.query(
      `SELECT k.source_id FROM ${this.ds.getMetadata(SourceKey).tablePath} k
         JOIN ${this.ds.getMetadata(Source).tablePath} s ON s.id = k.source_id
        WHERE k.key_hash = $1 AND s.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > $2)`,
      [hash, this.clock.now()],
    );
    const sourceId = rows[0]?.source_id ?? null;
    if (this.cache.size > 10000) this.cache.clear();
    this.cache.set(writeKey, { sourceId, until: now + this.config.INGESTION_KEY_CACHE_TTL_MS });
    return sourceId ?? undefined;
  }

  async create(name: string): Promise<IssuedKey> {
    const id = newId('src');
    const writeKey = newWriteKey();
    await this.ds.transaction(async (m) => {
      await m.getRepository(Source).insert({ id, name });
      await m.getRepository(SourceKey).insert({ id: newId('key'), sourceId: id, keyHash: hashKey(writeKey), hint: writeKey.slice(-4) });
    });
    return { source: await this.get(id), writeKey };
  }

  async list(): Promise<SourceView[]> {
    // A hard cap (sources are few; the list is not paged).
    const sources = await this.ds.getRepository(Source).find({ order: { createdAt: 'ASC' }, take: 1000 });
    const keys = sources.length ? await this.ds.getRepository(SourceKey).find({ where: { sourceId: In(sources.map((s) => s.id)) }, order: { createdAt: 'ASC' } }) : [];
    return sources.map((s) => this.view(s, keys.filter((k) => k.sourceId === s.id)));
  }

  async get(id: string): Promise<SourceView> {
    const source = await this.ds.getRepository(Source).findOneBy({ id });
    if (!source) throw new NotFoundException(`source ${id} not found`);
    return this.view(source, await this.ds.getRepository(SourceKey).find({ where: { sourceId: id }, order: { createdAt: 'ASC' } }));
  }

  /** Issues a new key; the current ones keep working for `graceSeconds` (0: stop now). */
  async rotate(id: string, graceSeconds: number): Promise<IssuedKey> {
    const source = await this.ds.getRepository(Source).findOneBy({ id, revokedAt: IsNull() });
    if (!source) throw new NotFoundException(`source ${id} not found or revoked`);
    const writeKey = newWriteKey();
    const until = new Date(this.clock.now().getTime() + graceSeconds * 1000);
    await this.ds.transaction(async (m) => {
      await m.query(
        `UPDATE ${m.connection.getMetadata(SourceKey).tablePath} SET expires_at = $2
          WHERE source_id = $1 AND (expires_at IS NULL OR expires_at > $2)`,
        [id, until],
      );
      await m.getRepository(SourceKey).insert({ id: newId('key'), sourceId: id, keyHash: hashKey(writeKey), hint: writeKey.slice(-4) });
    });
    this.cache.clear();
    return { source: await this.get(id), writeKey };
  }

  async revoke(id: string): Promise<SourceView> {
    const result = await this.ds.getRepository(Source).update({ id, revokedAt: IsNull() }, { revokedAt: this.clock.now() });
    if (!result.affected) await this.get(id); // 404 when unknown; already revoked is fine
    this.cache.clear();
    return this.get(id);
  }

  /** Stores a webhook signing secret (encrypted); the previous ones keep verifying for `graceSeconds`. */
  async setWebhookSecret(id: string, secret: string, graceSeconds: number): Promise<{ sourceId: string; hint: string; previousValidUntil: string }> {
    if (!this.box) throw new ConflictException('webhook secrets cannot be stored: set INGESTION_SECRET_KEY (32 bytes, base64)');
    const box = this.box;
    await this.get(id);
    const until = new Date(this.clock.now().getTime() + graceSeconds * 1000);
    await this.ds.transaction(async (m) => {
      await m.query(
        `UPDATE ${m.connection.getMetadata(SourceSecret).tablePath} SET expires_at = $2
          WHERE source_id = $1 AND (expires_at IS NULL OR expires_at > $2)`,
        [id, until],
      );
      await m.getRepository(SourceSecret).insert({ id: newId('sec'), sourceId: id, secretEnc: box.seal(secret), hint: secret.slice(-4) });
    });
    this.secretCache.delete(id);
    return { sourceId: id, hint: `…${secret.slice(-4)}`, previousValidUntil: until.toISOString() };
  }

  /** The source's signing secrets that verify now (two during a rotation). */
  async webhookSecrets(sourceId: string): Promise<string[]> {
    const now = Date.now();
    const hit = this.secretCache.get(sourceId);
    if (hit && hit.until > now) return hit.secrets;
    const box = this.box;
    const rows: { secret_enc: string }[] = box
      ? await this.ds.query(
          `SELECT secret_enc FROM ${this.ds.getMetadata(SourceSecret).tablePath}
            WHERE source_id = $1 AND (expires_at IS NULL OR expires_at > $2) ORDER BY created_at DESC`,
          [sourceId, this.clock.now()],
        )
      : [];
    const secrets = box ? rows.map((r) => box.open(r.secret_enc)) : [];
    this.secretCache.set(sourceId, { secrets, until: now + this.config.INGESTION_KEY_CACHE_TTL_MS });
    return secrets;
  }

  private view(s: Source, keys: SourceKey[]): SourceView {
    return {
      id: s.id,
      name: s.name,
      createdAt: s.createdAt.toISOString(),
      revokedAt: s.revokedAt?.toISOString() ?? null,
      keys: keys.map((k) => ({ id: k.id, hint: `…${k.hint}`, createdAt: k.createdAt.toISOString(), expiresAt: k.expiresAt?.toISOString() ?? null })),
    };
  }
}
