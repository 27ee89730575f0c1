import { EscalationReason } from '@kizuna/shared/contracts';
import type { EscalationRuleSet } from './escalation-rules';

/**
 * The seed rule set (version 1), written to Postgres on the first start; later versions come
 * through `PUT /v1/escalation-rules`.
 */
export const DEFAULT_ESCALATION_RULES: EscalationRuleSet = {
  version: 1,
  rules: {
    repeatInquiries: { enabled: true, priority: 'normal', count: 3, windowDays: 14 },
    atRiskContact: { enabled: true, priority: 'high', dangerBand: true, cautionMinArr: 100_000 },
    negativeSentiment: {
      enabled: true, priority: 'high', callSentimentAtMost: -0.5, csatAtMost: 2, npsDetractorAtMost: 6, npsRequiresComment: true,
      complaintCategories: ['complaint', 'complaints', 'cancellation-threat'],
    },
    agentFlagged: { enabled: true, priority: 'normal', tags: ['needs-cs', 'needs_cs', 'escalate-to-cs'] },
    usageStalled: { enabled: true, priority: 'normal', dormant: true, engagementDropPoints: 5 },
    expansionSignal: {
      enabled: true, priority: 'normal', productEvents: ['Seat Limit Reached', 'Plan Limit Reached'],
      higherPlanTags: ['higher-plan-feature', 'enterprise-feature', 'upgrade-question'],
    },
    onboardingStalled: { enabled: true, priority: 'normal' },
  },
  handBackCooldownDays: 7,
  routing: {
    defaultSteps: ['owner', 'region-team', 'specialist', 'least-loaded'],
    stepsByReason: { [EscalationReason.ExpansionSignal]: ['specialist', 'owner', 'region-team', 'least-loaded'] },
    specialtyByReason: {
      [EscalationReason.OnboardingStalled]: 'onboarding',
      [EscalationReason.ExpansionSignal]: 'expansion',
      [EscalationReason.RepeatInquiries]: 'technical',
      [EscalationReason.UsageStalled]: 'technical',
      [EscalationReason.AgentFlagged]: 'technical',
    },
  },
  sla: {
    acknowledge: {
      high: { amount: 1, unit: 'hours' },
      normal: { amount: 1, unit: 'business-days' },
      low: { amount: 3, unit: 'business-days' },
    },
    onBreach: { notifyTeamLead: true, reroute: true },
    defaultBusinessHours: { timeZone: 'UTC', days: [1, 2, 3, 4, 5], start: '09:00', end: '17:00' },
  },
};
