import { Injectable, NotFoundException } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { accountScope, type Principal } from '@kizuna/shared/service-kit';
import { AccountContextRow, CsmRow, EscalationRow } from '@kizuna/escalation-routing/data-access';

/** Roles that see every escalation (support sees them through the hand-back view). */
export const ALL_ESCALATIONS = ['admin', 'support'] as const;

/** A SQL condition on escalation alias `e` and its parameters, starting at `$first`. */
export interface ScopeSql {
  sql: string;
  params: unknown[];
}

/**
 * Who may see and act on which escalation. admin (and support, read-only hand-back view) see all;
 * a csm or cs-lead sees an escalation when it is assigned to their CSM id (`csm` claim), when it
 * belongs to their team (`team` claim), or when its account is in their book or team: the account's
 * owner CSM email (directory) is their `email`, or the roster CSM with that email is in their team.
 * Anything else answers 404 (as if it did not exist).
 */
@Injectable()
export class EscalationAccess {
  constructor(private readonly ds: DataSource) {}

  /** The visibility condition for the caller, or undefined when the caller sees everything. */
  condition(who: Principal, first: number): ScopeSql | undefined {
    const scope = accountScope(who, ALL_ESCALATIONS);
    if (scope.all) return undefined;
    const ctx = this.ds.getMetadata(AccountContextRow).tablePath;
    const csm = this.ds.getMetadata(CsmRow).tablePath;
    const [a, b, c] = [first, first + 1, first + 2];
    return {
      sql: `(e.assignee_csm_id = $${a} OR e.team_id = $${b} OR e.account_id IN (
              SELECT x.account_id FROM ${ctx} x WHERE x.owner_csm_email = $${c}
                 OR ($${b}::text IS NOT NULL AND x.owner_csm_email IN (SELECT lower(r.email) FROM ${csm} r WHERE r.team_id = $${b}))))`,
      params: [scope.csmId, scope.team, scope.ownerEmail],
    };
  }

  /** 404 unless the caller may see the escalation. */
  async assertEscalation(id: string, who: Principal): Promise<void> {
    const cond = this.condition(who, 2);
    const rows: unknown[] = await this.ds.query(
      `SELECT 1 FROM ${this.ds.getMetadata(EscalationRow).tablePath} e WHERE e.id = $1${cond ? ` AND ${cond.sql}` : ''}`,
      [id, ...(cond?.params ?? [])],
    );
    if (rows.length === 0) throw new NotFoundException(`escalation ${id} not found`);
  }

  /** 404 unless the caller may escalate the account (their book or team; admin and support: any). */
  async assertAccount(accountId: string, who: Principal): Promise<void> {
    const scope = accountScope(who, ALL_ESCALATIONS);
    if (scope.all) return;
    const ctx = this.ds.getMetadata(AccountContextRow).tablePath;
    const csm = this.ds.getMetadata(CsmRow).tablePath;
    const rows: unknown[] = await this.ds.query(
      `SELECT 1 FROM ${ctx} x WHERE x.account_id = $1 AND (x.owner_csm_email = $2
          OR ($3::text IS NOT NULL AND x.owner_csm_email IN (SELECT lower(r.email) FROM ${csm} r WHERE r.team_id = $3)))`,
      [accountId, scope.ownerEmail, scope.team],
    );
    if (rows.length === 0) throw new NotFoundException(`account ${accountId} not found`);
  }
}
