import { DEFAULT_PLAYS, inAudience, renderPlayEmail, underFrequencyCap, type Play } from './plays';

describe('tech-touch plays', () => {
  const play = { ...(DEFAULT_PLAYS[0] as Play), audience: { touchModels: ['tech'], segments: { 'contract-size': ['smb', 'freemium'] } }, links: { 'invite-team': 'https://docs.example.com/invite' } } as Play;

  it('selects the audience by touch model and segment', () => {
    expect(inAudience(play, { touchModel: 'tech', segments: { 'contract-size': 'smb' } })).toBe(true);
    expect(inAudience(play, { touchModel: 'tech', segments: { 'contract-size': 'enterprise' } })).toBe(false);
    expect(inAudience(play, { touchModel: 'high', segments: { 'contract-size': 'smb' } })).toBe(false);
    expect(inAudience(play, { touchModel: null, segments: {} })).toBe(false);
  });

  it('caps the frequency per contact', () => {
    const now = new Date('2026-03-10T00:00:00Z');
    expect(underFrequencyCap(null, now, 7)).toBe(true);
    expect(underFrequencyCap(new Date('2026-03-04T00:00:00Z'), now, 7)).toBe(false);
    expect(underFrequencyCap(new Date('2026-03-03T00:00:00Z'), now, 7)).toBe(true);
  });

  it('renders the guide for the missing milestone with an unsubscribe link, escaped in HTML', () => {
    const mail = renderPlayEmail(play, { account: 'Acme <Corp>', name: 'Kim', milestone: 'invite-team', unsubscribe: 'https://kizuna.example.com/v1/unsubscribe?t=abc' });
    expect(mail.subject).toBe('Next step for Acme <Corp>: invite-team');
    expect(mail.text).toContain('https://docs.example.com/invite');
    expect(mail.text).toContain('To stop these e-mails: https://kizuna.example.com/v1/unsubscribe?t=abc');
    expect(mail.html).toContain('Acme &lt;Corp&gt;');
  });
});
