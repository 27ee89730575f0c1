import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EscalationReason, FileDrivenClock } from '@kizuna/shared/contracts';
import { evaluateAgainstTruth } from './evaluate';
import { firstRiskFlag, pipelinePending, steppedPlay, writeClock } from './observe';
import { simulate } from './simulation';

describe('reading the platform', () => {
  it('flags an account at its first danger change or risk escalation, whichever came first', () => {
    const changes = [
      { at: '2026-03-05T10:00:00.000Z', band: 'caution', score: 55 },
      { at: '2026-03-09T10:00:00.000Z', band: 'danger', score: 31 },
    ];
    expect(firstRiskFlag(changes, [])).toBe('2026-03-09T10:00:00.000Z');
    expect(firstRiskFlag(changes, [{ reason: EscalationReason.UsageStalled, openedAt: '2026-03-07T00:00:00.000Z' }])).toBe('2026-03-07T00:00:00.000Z');
    // Repeat inquiries, an agent's flag and an expansion conversation are work for a CSM, not a churn verdict.
    const work = [EscalationReason.RepeatInquiries, EscalationReason.AgentFlagged, EscalationReason.ExpansionSignal].map((reason) => ({ reason, openedAt: '2026-03-01T00:00:00.000Z' }));
    expect(firstRiskFlag(changes.slice(0, 1), work)).toBeNull();
    expect(firstRiskFlag([], [{ reason: EscalationReason.NegativeSentiment, openedAt: '2026-03-02T00:00:00.000Z' }])).toBe('2026-03-02T00:00:00.000Z');
    // A scheduled cancellation moves the account into retention: a flag too (not a retention phase replayed from before the window).
    const phases = [{ to: 'retention', at: '2024-05-01T00:00:00.000Z' }, { to: 'adoption', at: '2024-06-01T00:00:00.000Z' }, { to: 'retention', at: '2026-03-06T00:00:00.000Z' }];
    expect(firstRiskFlag(changes.slice(0, 1), [], phases, '2026-03-02T00:00:00.000Z')).toBe('2026-03-06T00:00:00.000Z');
  });

  it("does not count an at-risk account's escalation as unexpected when its script causes none", () => {
    const { company } = simulate({ seed: 6, accounts: 14, days: 42, start: '2026-03-02', personaWeights: { 'slowly-disengaging': 1, 'healthy-growing': 1 } });
    const trial = company.truth.find((t) => t.persona === 'slowly-disengaging' && t.escalation === null);
    const healthy = company.truth.find((t) => t.persona === 'healthy-growing');
    expect(trial?.atRisk).toBe(true);
    const opened = [{ reason: EscalationReason.AtRiskContact }];
    const e = evaluateAgainstTruth(company, [
      { accountId: trial?.accountId ?? '', escalations: opened },
      { accountId: healthy?.accountId ?? '', escalations: opened },
    ]);
    expect(e.escalations.unexpected).toEqual([healthy?.accountId]);
  });

  it('sums consumer lag and outbox backlog over the services, and counts a silent service as busy', async () => {
    const metrics: Record<string, string> = {
      'http://a.test': 'kizuna_consumer_lag{group="g",topic="t",partition="0"} 3\nkizuna_consumer_lag_other 100\nkizuna_outbox_backlog 2\n',
      'http://b.test': '# HELP x\nkizuna_consumer_lag{group="g",topic="t",partition="1"} 0\n',
    };
    const doFetch = (async (url: URL | string) => {
      const text = metrics[new URL(String(url)).origin];
      return text === undefined ? new Response('down', { status: 503 }) : new Response(text);
    }) as typeof fetch;
    expect(await pipelinePending(['http://a.test', 'http://b.test'], {}, doFetch)).toBe(5);
    expect(await pipelinePending(['http://b.test'], {}, doFetch)).toBe(0);
    expect(await pipelinePending(['http://b.test', 'http://c.test'], {}, doFetch)).toBe(Number.POSITIVE_INFINITY);
  });

  it('counts periodic work owed for a closed step, and a service whose clock has not reached the player\'s move', async () => {
    const metrics: Record<string, string> = {
      'http://a.test': 'kizuna_clock_now 2000\nkizuna_clock_steps_pending 1\n',
      'http://b.test': 'kizuna_clock_now 1000\nkizuna_clock_steps_pending 0\n',
      'http://c.test': 'kizuna_consumer_lag{group="g",topic="t",partition="0"} 0\n',
    };
    const doFetch = (async (url: URL | string) => new Response(metrics[new URL(String(url)).origin])) as typeof fetch;
    expect(await pipelinePending(['http://a.test', 'http://b.test'], {}, doFetch)).toBe(1);
    expect(await pipelinePending(['http://b.test'], {}, doFetch, { clockAtLeast: 1000 })).toBe(0);
    expect(await pipelinePending(['http://a.test', 'http://b.test'], {}, doFetch, { clockAtLeast: 1500 })).toBe(2);
    expect(await pipelinePending(['http://c.test'], {}, doFetch, { clockAtLeast: 1 })).toBe(1); // no clock reported: not there yet
  });

  it('writes the clock file FileDrivenClock reads, with the step count when stepping', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kizuna-clock-'));
    const file = join(dir, 'clock');
    const play = steppedPlay(file, [], {});
    writeClock(file, '2026-01-02T00:00:00.000Z', { realNowMs: 5 });
    expect(readFileSync(file, 'utf8')).toBe(`${Date.parse('2026-01-02T00:00:00.000Z')} 5 0\n`);
    writeClock(file, '2026-01-02T00:00:00.000Z', { rate: 1, step: 3, realNowMs: 5 });
    expect(readFileSync(file, 'utf8')).toBe(`${Date.parse('2026-01-02T00:00:00.000Z')} 5 1 3\n`);
    const clock = new FileDrivenClock({ simStart: '2026-01-01T00:00:00.000Z', simEnd: '2026-02-01T00:00:00.000Z', durationMs: 60_000 }, file);
    void play.onStep('2026-01-05T00:00:00.000Z');
    expect([clock.now().toISOString(), clock.step()]).toEqual(['2026-01-05T00:00:00.000Z', 0]);
    void play.onStepClosed('2026-01-05T00:00:00.000Z', 1);
    expect(clock.step()).toBe(1);
    void play.onStep('2026-01-06T00:00:00.000Z');
    expect(clock.step()).toBe(1); // moving to the next step owes nothing until it is closed
    rmSync(dir, { recursive: true, force: true });
  });
});
