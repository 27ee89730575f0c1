import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { NotificationSetting } from '@kizuna/notification/data-access';
import { DEFAULT_PLAYS, DEFAULT_TRIGGER_RULES, type Play, type TriggerRule } from '@kizuna/notification/domain';

export interface Versioned<T> {
  version: number;
  value: T;
}

/**
 * Trigger rules and plays: configuration as data, every version kept (the highest applies).
 * Version 0 is the built-in default until someone saves a change.
 */
@Injectable()
export class NotificationSettings {
  /** Read on every event: cached for CACHE_MS, so a change applies on every instance within that time. */
  static readonly CACHE_MS = 5000;
  private readonly cache = new Map<string, { at: number; value: Versioned<unknown> }>();

  constructor(private readonly ds: DataSource) {}

  private async cached<T>(key: NotificationSetting['key'], fallback: T): Promise<Versioned<T>> {
    const hit = this.cache.get(key);
    if (hit && Date.now() - hit.at < NotificationSettings.CACHE_MS) return hit.value as Versioned<T>;
    const value = await this.latest(key, fallback);
    this.cache.set(key, { at: Date.now(), value });
    return value;
  }

  private async latest<T>(key: NotificationSetting['key'], fallback: T, m: EntityManager = this.ds.manager): Promise<Versioned<T>> {
    const row = await m.getRepository(NotificationSetting).findOne({ where: { key }, order: { version: 'DESC' } });
    return row ? { version: row.version, value: row.value as T } : { version: 0, value: fallback };
  }

  private async save<T>(key: NotificationSetting['key'], value: T, now: Date): Promise<Versioned<T>> {
    return this.ds.transaction(async (m) => {
      // Serialise writers of one key, so two saves never claim the same version.
      await m.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`notification-setting:${key}`]);
      const { version } = await this.latest(key, null, m);
      await m.getRepository(NotificationSetting).insert({ key, version: version + 1, value: value as never, createdAt: now });
      return { version: version + 1, value };
    }).then((saved) => {
      this.cache.set(key, { at: Date.now(), value: saved });
      return saved;
    });
  }

  /** The rules in force (cached; `fresh` reads the database). */
  triggerRules(fresh = false): Promise<Versioned<TriggerRule[]>> {
    return fresh ? this.latest('trigger-rules', DEFAULT_TRIGGER_RULES) : this.cached('trigger-rules', DEFAULT_TRIGGER_RULES);
  }

  saveTriggerRules(rules: TriggerRule[], now: Date): Promise<Versioned<TriggerRule[]>> {
    return this.save('trigger-rules', rules, now);
  }

  plays(fresh = false): Promise<Versioned<Play[]>> {
    return fresh ? this.latest('plays', DEFAULT_PLAYS) : this.cached('plays', DEFAULT_PLAYS);
  }

  savePlays(plays: Play[], now: Date): Promise<Versioned<Play[]>> {
    return this.save('plays', plays, now);
  }
}
