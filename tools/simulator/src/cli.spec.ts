import { formatProgress, parseArgs, parseDuration } from './cli';

describe('simulator CLI arguments', () => {
  const today = Date.parse('2026-12-01T13:00:00Z');

  it('defaults to 200 accounts over the 90 days ending today, played in two minutes with the development key', () => {
    const a = parseArgs([], {}, today);
    expect(a).toMatchObject({ seed: 42, accounts: 200, days: 90, start: '2026-09-02', compressMs: 120_000, ingestion: 'http://127.0.0.1:3001', dryRun: false });
    expect(a.writeKey).toBeUndefined();
    expect(a.adminToken).toBeUndefined();
  });

  it('reads options, the admin token from the environment, and --out as a dry run unless an ingestion is named', () => {
    const a = parseArgs(['--seed', '7', '--accounts=10', '--days', '30', '--compress', '2m', '--out', 'x.ndjson'], { INGESTION_ADMIN_TOKEN: 'tok-0123456789abcdef' }, today);
    expect(a).toMatchObject({ seed: 7, accounts: 10, days: 30, start: '2026-11-01', compressMs: 120_000, out: 'x.ndjson', dryRun: true, adminToken: 'tok-0123456789abcdef' });
    expect(parseArgs(['--out', 'x.ndjson', '--ingestion', 'http://h:1'], {}, today).dryRun).toBe(false);
  });

  it('refuses what it does not understand, naming it', () => {
    expect(() => parseArgs(['--acounts', '3'], {}, today)).toThrow('unknown option --acounts');
    expect(() => parseArgs(['--seed'], {}, today)).toThrow('--seed: needs a value');
    expect(() => parseArgs(['--days', '-3'], {}, today)).toThrow('--days: not a whole number');
    expect(() => parseDuration('soon')).toThrow('--compress: not a duration');
  });

  it('reads durations', () => {
    expect([parseDuration('120s'), parseDuration('2m'), parseDuration('90000ms'), parseDuration('0'), parseDuration('1.5h')]).toEqual([120_000, 120_000, 90_000, 0, 5_400_000]);
  });

  it('prints progress on one line', () => {
    expect(formatProgress({ simulatedAt: '2026-10-14T09:30:00.000Z', sent: 500, total: 1000, rate: 1234.4, retries: 1, rejected: 0, behindMs: 0 })).toBe(
      '[simulator] 2026-10-14 09:30   50%  500/1,000 sent  1,234 msg/s  retries 1  rejected 0',
    );
  });
});

describe('simulator CLI anchor', () => {
  it('reads --real-start as an ISO instant or epoch milliseconds', () => {
    const today = Date.parse('2026-12-01T13:00:00Z');
    expect(parseArgs(['--real-start', '2026-12-01T13:05:00Z'], {}, today).realStartMs).toBe(Date.parse('2026-12-01T13:05:00Z'));
    expect(parseArgs(['--real-start', '1700000000000'], {}, today).realStartMs).toBe(1_700_000_000_000);
    expect(() => parseArgs(['--real-start', 'later'], {}, today)).toThrow('--real-start: not an instant');
  });
});

describe('simulator CLI pacing for benchmarks', () => {
  it('reads --rate and --single', () => {
    const today = Date.parse('2026-12-01T13:00:00Z');
    expect(parseArgs(['--rate', '2000', '--single'], {}, today)).toMatchObject({ rate: 2000, single: true });
    expect(parseArgs([], {}, today)).toMatchObject({ single: false });
    expect(() => parseArgs(['--rate', '0'], {}, today)).toThrow('--rate: must be a number > 0');
  });
});

describe('simulator CLI Zendesk share', () => {
  it('needs an admin token (to create the source and set its signing secret) and a share between 0 and 1', () => {
    const today = Date.parse('2026-12-01T13:00:00Z');
    expect(parseArgs(['--zendesk-share', '0.3', '--admin-token', 'tok-0123456789abcdef'], {}, today).zendeskShare).toBe(0.3);
    expect(() => parseArgs(['--zendesk-share', '0.3'], {}, today)).toThrow('--zendesk-share: needs --admin-token');
    expect(() => parseArgs(['--zendesk-share', '0.3', '--admin-token', 't', '--write-key', 'k'], {}, today)).toThrow('needs --admin-token');
    expect(() => parseArgs(['--zendesk-share', '2', '--admin-token', 't'], {}, today)).toThrow('between 0 and 1');
  });
});
