import { Client } from 'pg';
import {
  COMPONENT_KEYS, DEFAULT_SCORECARDS, FEATURES, MODIFIER_KEYS, round2, scoreAccount, topMovers, validateScorecard, type AccountFeatures, type Normalisation,
  type Scorecard,
} from '@kizuna/health-scoring/domain';
import { seededRandom } from '@kizuna/shared/testing';
import { featureColumn, jsRoundSql, round2Sql, SCORED_FEATURES, scoringSql } from './scoring-sql';
import { toStoredFeatures } from './stored-features';

/**
 * The scorecards compiled into SQL (what the backfill scores with) against the reference,
 * scoreAccount and topMovers, on the real Postgres: for every seed scorecard and for generated ones,
 * on generated features, the score, the band, whether a change is emitted and its top movers must
 * be exactly equal (the same doubles, rounding included).
 */
describe('scorecards compiled into SQL', () => {
  const now = new Date('2026-03-10T12:00:00.000Z');
  const minDelta = 1;
  let pg: Client;

  beforeAll(async () => {
    pg = new Client({ connectionString: process.env['DATABASE_URL'] });
    await pg.connect();
  });
  afterAll(async () => {
    await pg?.end();
  });

  /** A deterministic generator: the same cases on every run. */
  const rng = seededRandom;
  const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;

  it('rounds as JavaScript does: half away from zero, ties included (Postgres round() would round them to even)', async () => {
    const xs = [0, 0.125, 0.375, 0.625, 2.375, 49.625, 12.345, 1.005, 72.125, 99.995, 100, -0.125, -0.625, -2.375, -49.625, 1e-9, -1e-9, 0.3333333333333333, 66.66666666666667, 4.999999999999999];
    const r = rng(7);
    for (let i = 0; i < 300; i++) xs.push(Math.round(r() * 80000) / 800 - 50, (r() - 0.5) * 200);
    const { rows } = await pg.query<{ x: number; r: number; j: number }>(
      `SELECT x, ${round2Sql('x')} AS r, ${jsRoundSql('x * 100')} AS j FROM unnest($1::float8[]) AS x`,
      [xs],
    );
    expect(rows.map((row) => [row.x, row.r, row.j])).toEqual(xs.map((x) => [x, round2(x), Math.round(x * 100)]));
    expect(rows.find((row) => row.x === 0.125)?.r).toBe(0.13); // a tie, rounded up
  });

  /** A valid scorecard with random curves and weights; numbers that are multiples of 1/8 make exact rounding ties frequent. */
  function generatedCard(r: () => number, id: string): Scorecard {
    const features = [...Object.values(FEATURES), 'not_a_feature'];
    const num = () => pick(r, [0, 0.125, 0.25, 0.375, 0.5, 0.625, 1, 1 / 3, 2, 3, 0.1, 0.7, r() * 10]);
    const unit = () => pick(r, [0, 0.125, 0.25, 0.5, 0.75, 1, 0.3, 0.6, 1 / 3, Math.round(r() * 1000) / 1000]);
    const normalisation = (): Normalisation => {
      const kind = pick(r, ['linear', 'thresholds', 'boolean'] as const);
      const xs = () => {
        const n = 2 + Math.floor(r() * 4);
        let x = pick(r, [-1, 0, 0.5, 1, r() * 3]);
        return Array.from({ length: n }, () => (x += pick(r, [0.25, 0.5, 1, 2, 5, 7, 1 / 3, r() * 20 + 0.01])));
      };
      if (kind === 'linear') return { kind, points: xs().map((x) => [x, unit()] as [number, number]) };
      if (kind === 'thresholds') return { kind, steps: xs().map((min) => ({ min, value: unit() })) };
      return { kind, whenTrue: unit(), whenFalse: unit() };
    };
    const keys = COMPONENT_KEYS.filter(() => r() < 0.8);
    const card = {
      id,
      version: 1 + Math.floor(r() * 5),
      name: id,
      segments: ['smb'],
      bands: pick(r, [{ good: 70, caution: 40 }, { good: 62.5, caution: 37.125 }, { good: 100, caution: 0.01 }]),
      components: (keys.length ? keys : ['roi' as const]).map((key, i) => ({
        key,
        label: key,
        weight: i === 0 ? 1 + num() : num(),
        measures: Array.from({ length: 1 + Math.floor(r() * 4) }, (_, j) => ({
          key: `m${j}`,
          label: `m${j}`,
          feature: pick(r, features),
          weight: j === 0 ? 1 + num() : num(),
          normalise: normalisation(),
        })),
      })),
      modifiers: MODIFIER_KEYS.filter(() => r() < 0.7).map((key) => ({
        key,
        label: key,
        measures: Array.from({ length: 1 + Math.floor(r() * 3) }, (_, j) => ({
          key: `p${j}`,
          label: `p${j}`,
          feature: pick(r, features),
          maxPenalty: pick(r, [0, 0.125, 0.375, 5, 10, 12.5, 30, r() * 20]),
          normalise: normalisation(),
        })),
      })),
    };
    const checked = validateScorecard(card);
    if (!checked.ok) throw new Error(`generated an invalid scorecard: ${checked.errors.join('; ')}`);
    return checked.scorecard;
  }

  /** Features around the cards' breakpoints (exactly on them, just beside them), plus counts, ratios and no data. */
  function generatedFeatures(r: () => number, cards: Scorecard[]): AccountFeatures {
    const breakpoints = cards.flatMap((c) =>
      [...c.components, ...c.modifiers].flatMap((g) =>
        g.measures.flatMap((m) => (m.normalise.kind === 'linear' ? m.normalise.points.map((p) => p[0]) : m.normalise.kind === 'thresholds' ? m.normalise.steps.map((s) => s.min) : [0, 1])),
      ),
    );
    const value = () => {
      const b = pick(r, breakpoints.length ? breakpoints : [0]);
      return pick(r, [
        () => b,
        () => b + 1e-9,
        () => b - 1e-9,
        () => b + (r() - 0.5) * 2,
        () => Math.floor(r() * 60),
        () => Math.floor(r() * 10) / 3,
        () => Math.floor(r() * 100) / 7,
        () => r(),
        () => r() * 500,
        () => -r() * 3,
      ])();
    };
    return Object.fromEntries(SCORED_FEATURES.map((f) => [f, r() < 0.15 ? null : value()]));
  }

  interface Row {
    id: number;
    card: number | null;
    features: AccountFeatures;
    emittedScore: number | null;
    emittedBand: string | null;
    prevCard: number | null;
    prevFeatures: AccountFeatures;
  }

  /** Scores the rows in Postgres with the compiled scorecards and compares every row with the reference. */
  async function compare(cards: Scorecard[], previous: Scorecard[], rows: Row[]): Promise<{ compared: number; changed: number; scored: number }> {
    const columns = ['id', 'card', ...SCORED_FEATURES.map(featureColumn), 'emitted_score', 'emitted_band', 'prev_card', 'prev_features'];
    const source =
      `SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(id int, card int, ${SCORED_FEATURES.map((f) => `${featureColumn(f)} float8`).join(', ')},` +
      ` emitted_score numeric, emitted_band text, prev_card int, prev_features float8[])`;
    const sql = scoringSql(source, columns, { cards, previous, minDelta, keep: ['id'] });
    const input = rows.map((row) => ({
      id: row.id,
      card: row.card,
      ...Object.fromEntries(SCORED_FEATURES.map((f) => [featureColumn(f), row.features[f] ?? null])),
      emitted_score: row.emittedScore,
      emitted_band: row.emittedBand,
      prev_card: row.prevCard,
      prev_features: toStoredFeatures(row.prevFeatures),
    }));
    const { rows: got } = await pg.query<{ id: number; score: number | null; band: string | null; changed: boolean; movers: Record<string, unknown>[] | null }>(
      `SELECT * FROM (${sql}) q ORDER BY id`,
      [JSON.stringify(input)],
    );
    const mismatches: string[] = [];
    let changed = 0;
    let scored = 0;
    for (const row of rows) {
      const card = row.card === null ? undefined : cards[row.card];
      const health = card ? scoreAccount(row.features, card, now) : undefined;
      const score = health?.score ?? null;
      const band = health?.band ?? null;
      const last = row.emittedBand ? { score: Number(row.emittedScore), band: row.emittedBand } : undefined;
      const isChange = health !== undefined && score !== null && (!last || last.band !== band || Math.abs(last.score - score) >= minDelta);
      const prev = row.prevCard === null ? undefined : previous[row.prevCard];
      const movers = isChange && health ? topMovers(prev ? scoreAccount(row.prevFeatures, prev, now) : undefined, health) : null;
      const expected = { id: row.id, score, band, changed: isChange, movers };
      const g = got.find((x) => x.id === row.id);
      // jsonb keeps an object's keys in its own order: compare the movers field by field.
      const actual = g && { ...g, movers: g.movers?.map((m) => ({ component: m['component'], measure: m['measure'], deltaPoints: m['deltaPoints'] })) ?? null };
      if (score !== null) scored++;
      if (isChange) changed++;
      if (JSON.stringify(actual) !== JSON.stringify(expected)) {
        mismatches.push(`expected ${JSON.stringify(expected)}\n     got ${JSON.stringify(actual)}\n     features ${JSON.stringify(row.features)}`);
      }
    }
    expect(mismatches.slice(0, 5)).toEqual([]);
    return { compared: rows.length, changed, scored };
  }

  function rowsFor(r: () => number, cards: Scorecard[], previous: Scorecard[], n: number): Row[] {
    return Array.from({ length: n }, (_, id) => {
      const emitted = r() < 0.7;
      return {
        id,
        card: r() < 0.05 ? null : Math.floor(r() * cards.length),
        features: generatedFeatures(r, [...cards, ...previous]),
        emittedScore: emitted ? Math.round(r() * 10000) / 100 : null,
        emittedBand: emitted ? pick(r, ['good', 'caution', 'danger']) : null,
        prevCard: previous.length && r() < 0.9 ? Math.floor(r() * previous.length) : null,
        prevFeatures: r() < 0.2 ? {} : generatedFeatures(r, [...cards, ...previous]),
      };
    });
  }

  it.each(DEFAULT_SCORECARDS.map((c) => [c.id, c] as const))('scores exactly as scoreAccount with the seed scorecard %s', async (_, card) => {
    const r = rng(card.id.length * 1000 + 1);
    const previous = [structuredClone(card), { ...structuredClone(card), version: 2, bands: { good: 80, caution: 50 } }];
    const result = await compare([card], previous, rowsFor(r, [card], previous, 2000));
    expect(result.scored).toBeGreaterThan(1000);
    expect(result.changed).toBeGreaterThan(500);
  });

  it('scores exactly as scoreAccount with all seed scorecards at once, each row with its own', async () => {
    const r = rng(42);
    const cards = [...DEFAULT_SCORECARDS];
    await compare(cards, [cards[1] as Scorecard], rowsFor(r, cards, [cards[1] as Scorecard], 2000));
  });

  it('scores exactly as scoreAccount with generated scorecards (curves, zero weights, unknown features, ties)', async () => {
    const r = rng(2026);
    let total = 0;
    for (let i = 0; i < 12; i++) {
      const cards = [generatedCard(r, `gen-${i}`), generatedCard(r, `gen-${i}-b`)];
      const previous = [generatedCard(r, `gen-${i}`)];
      total += (await compare(cards, previous, rowsFor(r, cards, previous, 400))).scored;
    }
    expect(total).toBeGreaterThan(2000);
  });
});
