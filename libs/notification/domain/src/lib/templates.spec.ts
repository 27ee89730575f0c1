import type { NoticeContent } from './templates';
import { lacksAccountName, renderDigestEmail, renderDigestSlack, renderEmail, renderSlack, renderWebhook, withAccountName } from './templates';

const notice: NoticeContent = {
  trigger: 'escalation.assigned', priority: 'high', accountId: 'acme', accountName: 'Acme <Ops>', triggerEventId: 'ev-1',
  title: 'Escalation assigned: Acme <Ops>', summary: 'Aiko now owns it & more', facts: [['Region', 'apac']], evidence: ['ticket t-1: <script>'],
};

describe('templates', () => {
  it('names the account in a notice planned before its name was known; leaves named notices alone', () => {
    const unnamed: NoticeContent = {
      ...notice, accountName: 'acc-7', accountId: 'acc-7', title: 'Escalation assigned: acc-7', summary: 'Aiko now owns the escalation for acc-7.',
      facts: [['Account', 'acc-7'], ['Region', 'apac']],
    };
    expect(lacksAccountName(unnamed)).toBe(true);
    const named = withAccountName(unnamed, 'Initech');
    expect(named).toMatchObject({ accountId: 'acc-7', accountName: 'Initech', title: 'Escalation assigned: Initech', summary: 'Aiko now owns the escalation for Initech.' });
    expect(named.facts).toEqual([['Account', 'Initech'], ['Region', 'apac']]);
    expect(lacksAccountName(named)).toBe(false);
    expect(withAccountName(unnamed, null)).toBe(unnamed);
    expect(withAccountName(notice, 'Other')).toBe(notice);
    expect(lacksAccountName({ ...notice, accountId: '', accountName: '' })).toBe(false);
  });

  it('renders e-mail as text and escaped HTML', () => {
    const mail = renderEmail(notice, 'Aiko');
    expect(mail.subject).toBe('[Kizuna] Escalation assigned: Acme <Ops>');
    expect(mail.text).toContain('Hello Aiko,');
    expect(mail.text).toContain('Region: apac');
    expect(mail.text).toContain('- ticket t-1: <script>');
    expect(mail.html).toContain('Acme &lt;Ops&gt;');
    expect(mail.html).not.toContain('<script>');
  });

  it('renders Slack blocks with a fallback text, escaped', () => {
    const m = renderSlack(notice);
    expect(m.text).toBe(notice.title);
    expect(m.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: notice.title } });
    expect(JSON.stringify(m.blocks)).toContain('Aiko now owns it &amp; more');
    expect(renderDigestSlack([notice, notice]).text).toBe('Kizuna digest: 2 notifications');
  });

  it('renders digests and webhook payloads of several notices', () => {
    expect(renderDigestEmail([notice, { ...notice, title: 'Second' }]).subject).toBe('[Kizuna] Your Kizuna digest: 2 notifications');
    const at = new Date('2026-03-10T12:00:00Z');
    expect(renderWebhook([notice], 'd-1', at, 'csm-a')).toMatchObject({
      type: 'kizuna.notification.escalation.assigned', timestamp: at.toISOString(),
      data: { deliveryId: 'd-1', recipient: 'csm-a', notifications: [{ accountId: 'acme', facts: { Region: 'apac' } }] },
    });
    expect(renderWebhook([notice, notice], 'd-2', at, 'csm-a')['type']).toBe('kizuna.notification.digest');
  });
});
