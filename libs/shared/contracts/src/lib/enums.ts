/** Shared vocabulary of the domain (see docs/architecture.md). */

export enum HealthBand {
  Good = 'good',
  Caution = 'caution',
  Danger = 'danger',
}

export enum LifecyclePhase {
  Onboarding = 'onboarding',
  Adoption = 'adoption',
  Expansion = 'expansion',
  Renewal = 'renewal',
  Retention = 'retention',
  Churned = 'churned',
}

export enum TouchModel {
  High = 'high',
  Low = 'low',
  Tech = 'tech',
}

export enum ContractSize {
  Enterprise = 'enterprise',
  Smb = 'smb',
  Freemium = 'freemium',
}

export enum UsageStatus {
  New = 'new',
  Active = 'active',
  Dormant = 'dormant',
}

export enum NpsLoyalty {
  Promoter = 'promoter',
  Passive = 'passive',
  Detractor = 'detractor',
}

export enum EscalationReason {
  RepeatInquiries = 'repeat-inquiries',
  AtRiskContact = 'at-risk-contact',
  NegativeSentiment = 'negative-sentiment',
  AgentFlagged = 'agent-flagged',
  Manual = 'manual',
  UsageStalled = 'usage-stalled',
  ExpansionSignal = 'expansion-signal',
  OnboardingStalled = 'onboarding-stalled',
}

export enum EscalationState {
  Open = 'open',
  Assigned = 'assigned',
  Acknowledged = 'acknowledged',
  Resolved = 'resolved',
  HandedBack = 'handed-back',
}

export enum SupportChannel {
  Email = 'email',
  Chat = 'chat',
  Phone = 'phone',
  Web = 'web',
  Social = 'social',
  Api = 'api',
  Other = 'other',
}

export enum NotificationChannel {
  Email = 'email',
  Slack = 'slack',
  Webhook = 'webhook',
  InApp = 'in-app',
}
