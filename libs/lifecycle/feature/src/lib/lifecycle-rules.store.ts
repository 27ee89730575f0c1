import { BadRequestException, Injectable, NotFoundException, type OnModuleInit } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { queryRows } from '@kizuna/shared/persistence';
import { LifecycleRulesRow } from '@kizuna/lifecycle/data-access';
import { DEFAULT_LIFECYCLE_RULES, validateLifecycleRules, type LifecycleRules } from '@kizuna/lifecycle/domain';

const CACHE_MS = 5000;

export interface RulesVersion {
  version: number;
  rules: LifecycleRules;
  createdAt: string;
}

/**
 * The lifecycle rules as data: seeded with the defaults on first start, every edit validated
 * (validateLifecycleRules) and stored as the next version; the highest version is in force, read
 * through a 5 s cache so an edit applies to the next evaluations without a redeploy.
 */
@Injectable()
export class LifecycleRulesStore implements OnModuleInit {
  private cached?: { at: number; value: RulesVersion };

  constructor(private readonly ds: DataSource) {}

  private get table(): string {
    return this.ds.getMetadata(LifecycleRulesRow).tablePath;
  }

  async onModuleInit(): Promise<void> {
    await this.ds.query(`INSERT INTO ${this.table} (version, rules) VALUES (1, $1) ON CONFLICT (version) DO NOTHING`, [JSON.stringify(DEFAULT_LIFECYCLE_RULES)]);
  }

  async current(): Promise<RulesVersion> {
    const now = Date.now();
    if (this.cached && now - this.cached.at < CACHE_MS) return this.cached.value;
    const value = await this.get();
    this.cached = { at: now, value };
    return value;
  }

  async get(version?: number): Promise<RulesVersion> {
    const rows = await queryRows<{ version: number; rules: LifecycleRules; created_at: Date }>(
      this.ds,
      `SELECT version, rules, created_at FROM ${this.table} ${version === undefined ? '' : 'WHERE version = $1'} ORDER BY version DESC LIMIT 1`,
      version === undefined ? [] : [version],
    );
    const row = rows[0];
    if (!row) throw new NotFoundException(version === undefined ? 'no lifecycle rules' : `lifecycle rules version ${version} not found`);
    return { version: row.version, rules: row.rules, createdAt: row.created_at.toISOString() };
  }

  /** Validates and stores the rules as the next version. */
  async save(input: unknown): Promise<RulesVersion> {
    const checked = validateLifecycleRules(input);
    if (!checked.ok) throw new BadRequestException({ statusCode: 400, error: 'Bad Request', message: 'invalid lifecycle rules', errors: checked.errors });
    const rows = await queryRows<{ version: number; created_at: Date }>(
      this.ds,
      `INSERT INTO ${this.table} (version, rules) SELECT COALESCE(max(version), 0) + 1, $1 FROM ${this.table} RETURNING version, created_at`,
      [JSON.stringify(checked.rules)],
    );
    this.cached = undefined;
    const row = rows[0] as { version: number; created_at: Date };
    return { version: row.version, rules: checked.rules, createdAt: row.created_at.toISOString() };
  }
}
