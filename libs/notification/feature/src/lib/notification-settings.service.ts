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
  constructor(private readonly ds: DataSource) {}

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
    });
  }

  triggerRules(m?: EntityManager): Promise<Versioned<TriggerRule[]>> {
    return this.latest('trigger-rules', DEFAULT_TRIGGER_RULES, m);
  }

  saveTriggerRules(rules: TriggerRule[], now: Date): Promise<Versioned<TriggerRule[]>> {
    return this.save('trigger-rules', rules, now);
  }

  plays(m?: EntityManager): Promise<Versioned<Play[]>> {
    return this.latest('plays', DEFAULT_PLAYS, m);
  }

  savePlays(plays: Play[], now: Date): Promise<Versioned<Play[]>> {
    return this.save('plays', plays, now);
  }
}
