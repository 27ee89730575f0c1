import type { Region } from './model';

/** Word lists and product vocabulary the simulated company is drawn from (invented, generic). */

export const FIRST_NAMES = [
  'Aiko', 'Amara', 'Andrés', 'Anika', 'Ben', 'Camille', 'Chen', 'Dana', 'Diego', 'Elif', 'Emeka', 'Erik', 'Fatima', 'Grace',
  'Hana', 'Hugo', 'Ines', 'Isaac', 'Jamal', 'Jin', 'Kai', 'Kenji', 'Lara', 'Leila', 'Luca', 'Maya', 'Mei', 'Mateo', 'Nadia',
  'Noah', 'Olga', 'Omar', 'Priya', 'Rafael', 'Rina', 'Sam', 'Sofia', 'Tariq', 'Tomás', 'Yara', 'Yuki', 'Zoe',
] as const;

export const LAST_NAMES = [
  'Abe', 'Adeyemi', 'Alvarez', 'Berg', 'Costa', 'Dubois', 'Eriksen', 'Fischer', 'García', 'Haddad', 'Ito', 'Jensen', 'Kaur',
  'Kim', 'Kowalski', 'Li', 'Moreau', 'Mori', 'Nakamura', 'Novak', 'Okafor', 'Patel', 'Quinn', 'Rossi', 'Sato', 'Schmidt',
  'Silva', 'Singh', 'Suzuki', 'Tanaka', 'Varga', 'Wang', 'Weber', 'Yamamoto', 'Yilmaz', 'Zhang',
] as const;

export const COMPANY_FIRST = [
  'Acorn', 'Alder', 'Amber', 'Apex', 'Aurora', 'Basalt', 'Beacon', 'Birch', 'Bluefin', 'Bright', 'Cedar', 'Cobalt', 'Copper',
  'Crescent', 'Delta', 'Ember', 'Evergreen', 'Falcon', 'Fern', 'Granite', 'Harbor', 'Helix', 'Indigo', 'Juniper', 'Kestrel',
  'Lantern', 'Maple', 'Meridian', 'Nimbus', 'Northwind', 'Oak', 'Onyx', 'Orchid', 'Pine', 'Quartz', 'Raven', 'Redwood',
  'Sable', 'Sierra', 'Summit', 'Tidal', 'Umber', 'Vertex', 'Willow', 'Zenith',
] as const;

export const COMPANY_SECOND = [
  'Analytics', 'Bank', 'Bio', 'Clinics', 'Consulting', 'Dynamics', 'Energy', 'Foods', 'Freight', 'Health', 'Insurance', 'Labs',
  'Learning', 'Logistics', 'Manufacturing', 'Media', 'Motors', 'Networks', 'Partners', 'Pharma', 'Retail', 'Robotics',
  'Studios', 'Systems', 'Telecom', 'Textiles', 'Travel', 'Ventures', 'Works',
] as const;

export const INDUSTRIES = [
  'software', 'financial-services', 'healthcare', 'retail', 'manufacturing', 'education', 'media', 'logistics',
  'professional-services', 'public-sector',
] as const;

export const REGION_INFO: Record<Region, { name: string; timezone: string; workStartUtc: number; workEndUtc: number; currency: 'USD' | 'EUR' | 'JPY'; phonePrefix: string }> = {
  amer: { name: 'Americas', timezone: 'America/New_York', workStartUtc: 13, workEndUtc: 22, currency: 'USD', phonePrefix: '+1 555' },
  emea: { name: 'Europe, Middle East and Africa', timezone: 'Europe/Berlin', workStartUtc: 7, workEndUtc: 16, currency: 'EUR', phonePrefix: '+49 30' },
  apac: { name: 'Asia-Pacific', timezone: 'Asia/Tokyo', workStartUtc: 0, workEndUtc: 9, currency: 'JPY', phonePrefix: '+81 3' },
};

export const TITLES = ['Operations Manager', 'Analyst', 'Team Lead', 'Engineer', 'Marketing Manager', 'Finance Partner', 'Designer', 'Sales Manager'] as const;
export const ADMIN_TITLES = ['Head of Operations', 'IT Administrator', 'VP Analytics', 'Director of Operations'] as const;

/** The onboarding milestones lifecycle's default rules expect (track event names). */
export const MILESTONES = ['Workspace Created', 'Teammate Invited', 'First Report Shared'] as const;

/** Everyday product usage (track events), weighted; several are health-scoring's key features. */
export const USAGE_EVENTS: Record<string, number> = {
  'Dashboard Viewed': 30,
  'Report Created': 14,
  'Report Shared': 8,
  'Search Performed': 12,
  'Comment Added': 8,
  'Export Downloaded': 5,
  'Workflow Automated': 3,
  'Integration Connected': 1,
};

export const PAGES = ['Home', 'Dashboards', 'Reports', 'Settings', 'Integrations', 'Billing'] as const;

/** Support categories and what customers write about them. */
export const TICKET_TOPICS: Record<string, { subjects: string[]; tags: string[] }> = {
  'login-sso': { subjects: ['SSO login fails for some users', 'Cannot sign in with our identity provider', 'Users logged out every hour'], tags: ['login', 'sso'] },
  billing: { subjects: ['Invoice shows the wrong VAT number', 'Question about our invoice', 'Update the billing contact'], tags: ['billing'] },
  reporting: { subjects: ['Report totals do not match our export', 'Scheduled report did not arrive', 'Chart shows no data for last week'], tags: ['reports'] },
  integrations: { subjects: ['CRM sync stopped', 'Webhook deliveries failing', 'Integration disconnects every night'], tags: ['integrations'] },
  performance: { subjects: ['Dashboards load very slowly', 'Timeouts when opening large reports'], tags: ['performance'] },
  permissions: { subjects: ['How do I restrict a folder to one team?', 'Member cannot see shared dashboard'], tags: ['permissions'] },
  'how-to': { subjects: ['How do I build a funnel chart?', 'Can we schedule exports to S3?', 'Best way to organise dashboards?'], tags: ['how-to'] },
};
export const BASELINE_TICKET_CATEGORIES = Object.keys(TICKET_TOPICS);

export const CALL_QUEUES = ['support', 'billing', 'technical'] as const;

export const NPS_COMMENTS = {
  promoter: ['Our team lives in the dashboards now.', 'Great product and responsive support.', 'Saves us hours every week.'],
  passive: ['Does the job; reporting could be faster.', 'Good, but setup took a while.'],
  outage: [
    'Two days of downtime in the middle of our quarter close. We are reconsidering.',
    'The outage broke our reporting for a week and nobody told us what happened.',
    'We lost trust after the outage; our executives noticed the missing reports.',
  ],
} as const;
