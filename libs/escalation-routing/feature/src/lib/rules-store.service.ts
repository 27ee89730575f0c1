import { BadRequestException, Inject, Injectable, NotFoundException, type OnModuleInit } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { loadConfig } from '@kizuna/shared/config';
import { CLOCK, type Clock } from '@kizuna/shared/contracts';
import { EscalationRulesRow } from '@kizuna/escalation-routing/data-access';
import { DEFAULT_ESCALATION_RULES, expansionProductEvents, validateRuleSet, type EscalationRuleSet } from '@kizuna/escalation-routing/domain';
import { EscalationConfig } from './escalation.config';

export interface RuleSetVersionView {
  version: number;
  createdAt: string;
  createdBy: string;
}

/**
 * The rule set as data: seeded from DEFAULT_ESCALATION_RULES on the first start, every edit stored
 * as the next version (the highest is in force), read through a short cache.
 */
@Injectable()
export class RulesStore implements OnModuleInit {
  private readonly config = loadConfig(EscalationConfig);
  private cached?: { at: number; rules: EscalationRuleSet; expansionEvents: Set<string> };
  private refreshing?: Promise<unknown>;

  constructor(
    private readonly ds: DataSource,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  private get table(): string {
    return this.ds.getMetadata(EscalationRulesRow).tablePath;
  }

  async onModuleInit(): Promise<void> {
    await this.ds.query(
      `INSERT INTO ${this.table} (version, definition, created_at, created_by) VALUES (1, $1, $2, 'seed') ON CONFLICT (version) DO NOTHING`,
      [JSON.stringify(DEFAULT_ESCALATION_RULES), this.clock.now()],
    );
  }

  /**
   * The rule set in force (cached for ESCALATION_RULES_CACHE_MS). Inside a transaction pass its
   * manager: the read then uses that connection instead of taking a second one from the pool (with
   * every connection held by a transaction waiting for another, the pool would wait forever).
   */
  async current(m?: EntityManager): Promise<EscalationRuleSet> {
    const now = Date.now();
    if (this.cached && now - this.cached.at < this.config.ESCALATION_RULES_CACHE_MS) return this.cached.rules;
    const [row] = await (m ?? this.ds).query(`SELECT definition FROM ${this.table} ORDER BY version DESC LIMIT 1`);
    const rules = (row?.definition ?? DEFAULT_ESCALATION_RULES) as EscalationRuleSet;
    this.cached = { at: now, rules, expansionEvents: expansionProductEvents(rules) };
    return rules;
  }

  /**
   * The product event names the rules in force react to (expansionProductEvents), without waiting:
   * from the cache while it is younger than ESCALATION_RULES_CACHE_MS (the same freshness as
   * current()). Otherwise undefined, every name may matter (the caller then reads the event and the
   * rules), and the cache is refreshed in the background.
   */
  expansionEvents(): ReadonlySet<string> | undefined {
    const c = this.cached;
    if (c && Date.now() - c.at < this.config.ESCALATION_RULES_CACHE_MS) return c.expansionEvents;
    this.refreshing ??= this.current()
      .catch(() => undefined) // read again at the next call; current() reports its own failures to its callers
      .finally(() => (this.refreshing = undefined));
    return undefined;
  }

  async get(version: number): Promise<EscalationRuleSet> {
    const [row] = await this.ds.query(`SELECT definition FROM ${this.table} WHERE version = $1`, [version]);
    if (!row) throw new NotFoundException(`escalation rules version ${version} not found`);
    return row.definition as EscalationRuleSet;
  }

  async versions(): Promise<RuleSetVersionView[]> {
    const rows: { version: number; created_at: Date; created_by: string }[] = await this.ds.query(
      `SELECT version, created_at, created_by FROM ${this.table} ORDER BY version DESC LIMIT 100`,
    );
    return rows.map((r) => ({ version: r.version, createdAt: r.created_at.toISOString(), createdBy: r.created_by }));
  }

  /** Validates the whole rule set and stores it as the next version; the version in the body is ignored. */
  async saveNewVersion(input: unknown, actor: string): Promise<EscalationRuleSet> {
    return this.ds.transaction(async (m) => {
      await m.query(`LOCK TABLE ${this.table} IN SHARE ROW EXCLUSIVE MODE`);
      const [{ v }] = await m.query(`SELECT COALESCE(max(version), 0)::int AS v FROM ${this.table}`);
      const candidate = { ...(typeof input === 'object' && input !== null && !Array.isArray(input) ? input : {}), version: (v as number) + 1 };
      const checked = validateRuleSet(candidate);
      if (!checked.ok) throw new BadRequestException({ statusCode: 400, error: 'Bad Request', message: 'invalid escalation rules', errors: checked.errors });
      await m.query(`INSERT INTO ${this.table} (version, definition, created_at, created_by) VALUES ($1, $2, $3, $4)`, [
        checked.ruleSet.version, JSON.stringify(checked.ruleSet), this.clock.now(), actor,
      ]);
      this.cached = undefined;
      return checked.ruleSet;
    });
  }
}
