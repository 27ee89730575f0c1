import { BadRequestException, Injectable, NotFoundException, type OnModuleInit } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { HealthSetting, ScorecardRow, type FactsSettings } from '@kizuna/health-scoring/data-access';
import { DEFAULT_SCORECARDS, validateScorecard, type Scorecard } from '@kizuna/health-scoring/domain';

/** Seed settings: which product events are key features and which are value milestones. */
export const DEFAULT_HEALTH_SETTINGS: FactsSettings = {
  keyFeatures: ['Report Created', 'Report Shared', 'Dashboard Viewed', 'Integration Connected', 'Teammate Invited', 'Workflow Automated'],
  valueMilestones: ['First Report Shared', 'Integration Connected', 'Workflow Automated', 'Goal Reached'],
};

const CACHE_MS = 5000;

/**
 * Scorecards and settings as data in Postgres: seeded on first start, every edit a new version
 * (the highest version of an id is active), read through a 5 s cache so an edit applies to the
 * next scores without a redeploy.
 */
@Injectable()
export class ScorecardStore implements OnModuleInit {
  private cached?: { at: number; scorecards: Scorecard[]; settings: FactsSettings };
  private readonly versions = new Map<string, Promise<Scorecard>>();

  constructor(private readonly ds: DataSource) {}

  async onModuleInit(): Promise<void> {
    await this.ds.transaction(async (m) => {
      const [{ n }] = await m.query(`SELECT count(*)::int AS n FROM ${m.connection.getMetadata(ScorecardRow).tablePath}`);
      if (n === 0) {
        for (const sc of DEFAULT_SCORECARDS) await insertVersion(m, sc);
      }
      await m.query(
        `INSERT INTO ${m.connection.getMetadata(HealthSetting).tablePath} (key, value) VALUES ('keyFeatures', $1), ('valueMilestones', $2)
         ON CONFLICT (key) DO NOTHING`,
        [JSON.stringify(DEFAULT_HEALTH_SETTINGS.keyFeatures), JSON.stringify(DEFAULT_HEALTH_SETTINGS.valueMilestones)],
      );
    });
  }

  /** The active version of every scorecard, and the settings. */
  async current(): Promise<{ scorecards: Scorecard[]; settings: FactsSettings }> {
    const now = Date.now();
    if (this.cached && now - this.cached.at < CACHE_MS) return this.cached;
    const rows: { definition: Scorecard }[] = await this.ds.query(
      `SELECT DISTINCT ON (id) definition FROM ${this.ds.getMetadata(ScorecardRow).tablePath} ORDER BY id, version DESC`,
    );
    const settingRows: { key: string; value: string[] }[] = await this.ds.query(`SELECT key, value FROM ${this.ds.getMetadata(HealthSetting).tablePath}`);
    const setting = (k: keyof FactsSettings) => settingRows.find((r) => r.key === k)?.value ?? DEFAULT_HEALTH_SETTINGS[k];
    // Keep the seed order (enterprise, smb, trial) first: scorecardForSegment takes the first match.
    const order = DEFAULT_SCORECARDS.map((s) => s.id);
    const scorecards = rows.map((r) => r.definition).sort((a, b) => rank(order, a.id) - rank(order, b.id));
    this.cached = { at: now, scorecards, settings: { keyFeatures: setting('keyFeatures'), valueMilestones: setting('valueMilestones') } };
    return this.cached;
  }

  /**
   * One version of a scorecard (versions are immutable, so they are kept once read): what explains a
   * stored score. A version no longer stored answers 404.
   */
  async version(id: string, version: number): Promise<Scorecard> {
    const key = `${id}@${version}`;
    let found = this.versions.get(key);
    if (!found) {
      found = this.get(id, version);
      this.versions.set(key, found);
      found.catch(() => this.versions.delete(key));
    }
    return found;
  }

  async get(id: string, version?: number): Promise<Scorecard> {
    const rows: { definition: Scorecard }[] = await this.ds.query(
      `SELECT definition FROM ${this.ds.getMetadata(ScorecardRow).tablePath} WHERE id = $1 ${version ? 'AND version = $2' : ''} ORDER BY version DESC LIMIT 1`,
      version ? [id, version] : [id],
    );
    const found = rows[0];
    if (!found) throw new NotFoundException(`scorecard ${id}${version ? ` version ${version}` : ''} not found`);
    return found.definition;
  }

  /** Stores an edited scorecard as the next version of its id; returns it. */
  async saveNewVersion(id: string, input: unknown): Promise<Scorecard> {
    const current = await this.get(id);
    const candidate = { ...(typeof input === 'object' && input !== null ? input : {}), id, version: current.version + 1 };
    const checked = validateScorecard(candidate);
    if (!checked.ok) throw new BadRequestException({ statusCode: 400, error: 'Bad Request', message: 'invalid scorecard', errors: checked.errors });
    await insertVersion(this.ds.manager, checked.scorecard);
    this.cached = undefined;
    return checked.scorecard;
  }
}

const rank = (order: string[], id: string) => {
  const i = order.indexOf(id);
  return i < 0 ? order.length : i;
};

function insertVersion(m: EntityManager, sc: Scorecard): Promise<unknown> {
  return m.query(`INSERT INTO ${m.connection.getMetadata(ScorecardRow).tablePath} (id, version, definition) VALUES ($1, $2, $3)`, [
    sc.id,
    sc.version,
    JSON.stringify(sc),
  ]);
}
