import type { ContractSize, EscalationReason, HealthBand, LifecyclePhase } from '@kizuna/shared/contracts';

/** The scripted trajectories an account can follow (issue 8). */
export const PERSONAS = [
  'healthy-growing',
  'slowly-disengaging',
  'onboarding-stalled',
  'support-heavy',
  'seat-limit',
  'outage-detractor',
  'cancel-reactivate',
] as const;
export type Persona = (typeof PERSONAS)[number];

export const REGIONS = ['amer', 'emea', 'apac'] as const;
export type Region = (typeof REGIONS)[number];

export const SPECIALTIES = ['onboarding', 'expansion', 'technical'] as const;
export type Specialty = (typeof SPECIALTIES)[number];

export interface SimUser {
  /** Segment userId, unique across the company. */
  id: string;
  email: string;
  name: string;
  title: string;
  role: 'admin' | 'member';
  /** Day (index in the simulated window) the user joins; <= the account's start day for existing users. */
  joinDay: number;
  /** How often this user shows up, 0..1 (multiplies the account's daily activity). */
  propensity: number;
}

export interface SimAccount {
  id: string;
  name: string;
  /** E-mail domain of its people (registered through the group traits, so support records match). */
  domain: string;
  industry: string;
  region: Region;
  size: ContractSize;
  plan: string;
  seatsPurchased: number;
  arr: number;
  currency: 'USD' | 'EUR' | 'JPY';
  employees: number;
  contractStart: string;
  renewalDate: string;
  subscriptionId: string;
  ownerCsmId: string | null;
  persona: Persona;
  /** Day the account appears in the stream: 0 for established customers, later for new ones. */
  startDay: number;
  /** True when the account became a customer inside the window (it onboards in the stream). */
  isNew: boolean;
  adminUserId: string;
  users: SimUser[];
}

export interface Csm {
  id: string;
  name: string;
  email: string;
  region: Region;
  teamId: string;
  specialties: Specialty[];
  /** Open escalations this CSM can hold. */
  capacity: number;
  active: boolean;
  timezone: string;
  outOfOffice: { from: string; to: string } | null;
  notificationChannels: { kind: 'email' | 'slack' | 'in-app'; address: string }[];
}

export interface Team {
  id: string;
  name: string;
  region: Region;
  timezone: string;
  leadCsmId: string;
  memberIds: string[];
  businessHours: { days: number[]; start: string; end: string };
}

/** What the scripted trajectory should make the platform conclude about an account. */
export interface GroundTruth {
  accountId: string;
  persona: Persona;
  size: ContractSize;
  region: Region;
  ownerCsmId: string | null;
  /** The account is scripted to become at risk of churning. */
  atRisk: boolean;
  /** From when the trajectory turns bad (ISO), when atRisk. */
  atRiskFrom: string | null;
  /** Health bands the account should be in at the end of the window. */
  expectedBands: HealthBand[];
  /** Lifecycle phases the account should be in at the end of the window. */
  expectedPhases: LifecyclePhase[];
  /** The escalation the trajectory is built to cause (null: none expected) and other legitimate ones. */
  escalation: { reason: EscalationReason; also: EscalationReason[]; route: 'owner' | 'region-team' | 'expansion-specialist' | 'onboarding-specialist' | 'any' } | null;
  /** When a cancellation takes effect (ISO), if the account churns in the window. */
  churnDate: string | null;
  /** When a churned account comes back (ISO). */
  reactivatedAt: string | null;
  /** Human-readable script of what happens. */
  story: string;
}

export interface Company {
  seed: number;
  /** Start of the simulated window (ISO, midnight UTC). */
  start: string;
  /** End of the window (exclusive). */
  end: string;
  days: number;
  /** Day index of the company-wide incident (the outage). */
  outageDay: number;
  vendor: { name: string; domain: string };
  accounts: SimAccount[];
  csms: Csm[];
  teams: Team[];
  truth: GroundTruth[];
}

// ---- The stream: exactly what ingestion accepts ---------------------------------------------

export type SegmentCall = {
  type: 'identify' | 'group' | 'track' | 'page';
  userId: string;
  messageId: string;
  timestamp: string;
  event?: string;
  name?: string;
  groupId?: string;
  traits?: Record<string, unknown>;
  properties?: Record<string, unknown>;
  context?: Record<string, unknown>;
};

export interface TicketBody {
  id: string;
  accountId?: string;
  organizationExternalId?: string;
  requesterEmail?: string;
  channel: 'email' | 'chat' | 'phone' | 'web';
  category: string;
  tags: string[];
  priority: 'low' | 'normal' | 'high' | 'urgent';
  subject: string;
  status: 'new' | 'open' | 'pending' | 'solved' | 'closed';
  reopenedCount?: number;
  satisfaction?: number;
  needsCs?: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface CallBody {
  contactId: string;
  accountId?: string;
  callerEmail?: string;
  callerNumber?: string;
  queue: string;
  agentId: string;
  startedAt: string;
  endedAt: string;
  talkSeconds: number;
  holdSeconds: number;
  transfers: number;
  reasonCode: string;
  disposition: string;
  sentiment: number;
  callbackRequested: boolean;
  needsCs?: boolean;
  lastUpdatedAt: string;
}

export interface SurveyBody {
  responseId: string;
  kind: 'nps' | 'csat';
  score: number;
  comment?: string;
  accountId?: string;
  respondentEmail?: string;
  userId?: string;
  answeredAt: string;
}

export interface SubscriptionBody {
  changeId: string;
  accountId: string;
  subscriptionId: string;
  change: 'started' | 'renewed' | 'upgraded' | 'downgraded' | 'cancelled' | 'reactivated' | 'payment-failed';
  plan?: string;
  seats?: number;
  mrr?: number;
  arr?: number;
  currency?: string;
  termStart?: string;
  termEnd?: string;
  effectiveAt: string;
}

/** A Zendesk event-subscription webhook for a ticket (signed by the driver when it is sent). */
export interface ZendeskWebhookBody {
  id: string;
  type: 'zen:event-type:ticket.created' | 'zen:event-type:ticket.status_changed';
  time: string;
  detail: {
    id: string;
    status: string;
    priority: string;
    subject: string;
    tags: string[];
    via: { channel: string };
    requester: { email: string };
    organization?: { external_id: string };
    reopens: number;
    satisfaction_rating?: { score: number };
    created_at: string;
    updated_at: string;
  };
}

interface Base {
  /** When the message is sent, in simulated time (ISO). The stream is ordered by it. */
  at: string;
  accountId: string;
}
export type SimMessage =
  | (Base & { kind: 'segment'; body: SegmentCall })
  | (Base & { kind: 'ticket'; body: TicketBody })
  | (Base & { kind: 'zendesk'; body: ZendeskWebhookBody })
  | (Base & { kind: 'call'; body: CallBody })
  | (Base & { kind: 'survey'; body: SurveyBody })
  | (Base & { kind: 'subscription'; body: SubscriptionBody });
export type SimKind = SimMessage['kind'];

/** Where each kind goes on ingestion (segment calls go in batches to /v1/batch). */
export const ENDPOINTS: Record<SimKind, string> = {
  segment: '/v1/batch',
  ticket: '/v1/support/tickets',
  zendesk: '/v1/sources/zendesk/webhook',
  call: '/v1/support/calls',
  survey: '/v1/surveys',
  subscription: '/v1/subscriptions',
};
