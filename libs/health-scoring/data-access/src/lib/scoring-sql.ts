import { HealthBand } from '@kizuna/shared/contracts';
import { FEATURES, type Normalisation, type Scorecard } from '@kizuna/health-scoring/domain';
import { storedFeaturePosition } from './stored-features';

/**
 * The DEAR scoring of libs/health-scoring/domain (scoreAccount, topMovers) compiled into Postgres
 * expressions, so that a backfill scores every account inside one set-based statement instead of
 * shipping each account's facts to Node and back.
 *
 * Exactness: scoreAccount is plain IEEE-754 double arithmetic, and so is Postgres' float8. Every
 * operation below is the same operation on the same operands in the same order as in dear-score.ts
 * (sums accumulated left to right from 0, `100 * effectiveWeight * normalised` as (100 × ew) × n,
 * the scorecard's numbers written as float8 literals in their shortest round-trip form), and
 * JavaScript's Math.round (ties towards +∞) is rebuilt from ceil, which Postgres' round() (ties to
 * even) is not. So a score, a band and every contribution come out bit for bit as scoreAccount's:
 * the set-based scoring test (scoring-sql.integration-spec.ts) checks it against scoreAccount
 * on generated features for every seed scorecard. One difference is left: Postgres raises an error
 * where a float8 operation overflows or underflows (JavaScript gives ±Infinity or 0); scorecards
 * whose weights or points reach beyond ~1e±150 would fail the statement instead of scoring.
 *
 * The expressions are laid out in stages (nested subqueries fenced by OFFSET 0, so that Postgres does
 * not inline a stage's expressions into every use of them): each stage computes from the columns of
 * the stage before, and only the columns a later stage reads are passed on.
 */

/** An exact float8 literal of a finite JavaScript number (String() is the shortest form that reads back to the same double). */
export function f8(x: number): string {
  if (!Number.isFinite(x)) throw new RangeError(`not a finite number: ${x}`);
  return `'${Object.is(x, -0) ? '-0' : String(x)}'::float8`;
}

/** A SQL string literal (standard_conforming_strings: only the quote is special). */
export function sqlText(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** JavaScript's Math.round (the nearest integer, ties towards +∞) of a float8 expression. */
export function jsRoundSql(y: string): string {
  return `(CASE WHEN ceil(${y}) - ${f8(0.5)} > ${y} THEN ceil(${y}) - ${f8(1)} ELSE ceil(${y}) END)`;
}

/** dear-score's round2: half away from zero to 2 decimals, never -0 (NULL stays NULL). */
export function round2Sql(x: string): string {
  const y = `(abs(${x}) * ${f8(100)})`;
  return `(sign(${x}) * ${jsRoundSql(y)} / ${f8(100)} + ${f8(0)})`;
}

/**
 * round2 of a float8 expression in whole cents (bigint: round2(x) = cents / 100): the contributions
 * topMovers compares. Their differences are then exact integers, which round2 of a difference of
 * two round2 values gives too (it is within 1e-9 of a whole number of cents: no tie to round).
 */
export function centsSql(x: string): string {
  return `(sign(${x})::bigint * ${jsRoundSql(`(abs(${x}) * ${f8(100)})`)}::bigint)`;
}

/** ((0 + a) + b) + ...: a JavaScript reduce((s, x) => s + x, 0), in its order. */
function sumSql(terms: string[]): string {
  return terms.reduce((acc, t) => `(${acc} + ${t})`, f8(0));
}

/** dear-score's normalise(n, x) for a non-null float8 expression `x` (a column: it is read several times). */
export function normaliseSql(n: Normalisation, x: string): string {
  switch (n.kind) {
    case 'linear': {
      const pts = n.points;
      const first = pts[0];
      const last = pts[pts.length - 1];
      if (!first || !last) return f8(0);
      const arms = [`WHEN ${x} <= ${f8(first[0])} THEN ${f8(first[1])}`, `WHEN ${x} >= ${f8(last[0])} THEN ${f8(last[1])}`];
      for (let i = 1; i < pts.length; i++) {
        const [x0, y0] = pts[i - 1] as [number, number];
        const [x1, y1] = pts[i] as [number, number];
        const between = `${f8(y0)} + ((${x} - ${f8(x0)}) / (${f8(x1)} - ${f8(x0)})) * (${f8(y1)} - ${f8(y0)})`;
        arms.push(`WHEN ${x} <= ${f8(x1)} THEN (CASE WHEN ${x} = ${f8(x1)} THEN ${f8(y1)} ELSE ${between} END)`);
      }
      return `(CASE ${arms.join(' ')} ELSE ${f8(last[1])} END)`;
    }
    case 'thresholds': {
      // The value of the highest step whose min <= x (mins strictly increasing), else 0.
      const arms = [...n.steps].reverse().map((s) => `WHEN ${x} >= ${f8(s.min)} THEN ${f8(s.value)}`);
      return arms.length ? `(CASE ${arms.join(' ')} ELSE ${f8(0)} END)` : f8(0);
    }
    case 'boolean':
      return `(CASE WHEN ${x} <> ${f8(0)} THEN ${f8(n.whenTrue)} ELSE ${f8(n.whenFalse)} END)`;
  }
}

/** Identifiers an expression reads (quoted literals left out). */
function identifiers(expr: string): Set<string> {
  return new Set(expr.replace(/'(?:[^']|'')*'/g, ' ').match(/[A-Za-z_][A-Za-z0-9_]*/g) ?? []);
}

/**
 * Columns computed in stages over a source query; each stage reads the columns of the stages before
 * it (and of the source). `sql()` passes on only what later stages and the output read.
 */
export class StagedQuery {
  private readonly stages: { name: string; expr: string }[][] = [];

  constructor(private readonly sourceColumns: readonly string[]) {}

  /** Adds a column to a stage (0 = the first stage over the source). Returns its name. */
  add(stage: number, name: string, expr: string): string {
    while (this.stages.length <= stage) this.stages.push([]);
    this.stages[stage]?.push({ name, expr });
    return name;
  }

  get depth(): number {
    return this.stages.length;
  }

  /** SELECT `output` (expressions over the last stage's columns) FROM the staged subqueries over `source`. */
  sql(source: string, output: string[]): string {
    let needed = new Set<string>();
    for (const o of output) for (const id of identifiers(o)) needed.add(id);
    const selects: string[][] = [];
    for (let s = this.stages.length - 1; s >= 0; s--) {
      const own = (this.stages[s] ?? []).filter((c) => needed.has(c.name));
      const ownNames = new Set(own.map((c) => c.name));
      const passed = [...needed].filter((n) => !ownNames.has(n) && this.definedBefore(s, n));
      selects[s] = [...passed, ...own.map((c) => `${c.expr} AS ${c.name}`)];
      const next = new Set(passed);
      for (const c of own) for (const id of identifiers(c.expr)) next.add(id);
      needed = next;
    }
    const fromSource = this.sourceColumns.filter((c) => needed.has(c));
    let sql = `SELECT ${fromSource.length ? fromSource.join(', ') : '1 AS one'} FROM (${source}) z OFFSET 0`;
    selects.forEach((cols, s) => {
      sql = `SELECT ${cols.length ? cols.join(', ') : '1 AS one'} FROM (${sql}) z${s} OFFSET 0`;
    });
    return `SELECT ${output.join(', ')} FROM (${sql}) scored`;
  }

  private definedBefore(stage: number, name: string): boolean {
    if (this.sourceColumns.includes(name)) return true;
    for (let s = 0; s < stage; s++) if (this.stages[s]?.some((c) => c.name === name)) return true;
    return false;
  }
}

/** The float8 column of a feature in the scoring source: f_<feature name>. */
export const featureColumn = (feature: string): string => `f_${feature}`;
const KNOWN_FEATURES = new Set<string>(Object.values(FEATURES));
/** Features the scorecards may read that have a column (any other feature is no data, as for scoreAccount). */
export const SCORED_FEATURES: readonly string[] = Object.values(FEATURES);

/** A measure's place in the explanation: its group (component or modifier) key and its key. */
interface MeasureKey {
  group: string;
  measure: string;
}

const cmp = (x: string, y: string): number => (x < y ? -1 : x > y ? 1 : 0);

/** Every (group, measure) of the given scorecards, in topMovers' tie-break order. */
function moverKeys(cards: Scorecard[]): MeasureKey[] {
  const seen = new Map<string, MeasureKey>();
  for (const card of cards) {
    for (const g of [...card.components, ...card.modifiers]) {
      for (const m of g.measures) seen.set(`${g.key}\u0000${m.key}`, { group: g.key, measure: m.key });
    }
  }
  return [...seen.values()].sort((a, b) => cmp(a.group, b.group) || cmp(a.measure, b.measure));
}

/**
 * One scorecard's scoring over feature columns, in three stages from `stage` on, for the rows where
 * `guard` holds (NULL elsewhere). Returns the column of the clamped score (NULL without data) and
 * the columns of the rounded contribution of each measure in cents (bigint, centsSql), by mover key.
 */
function scorecardStages(
  q: StagedQuery,
  stage: number,
  p: string,
  card: Scorecard,
  guard: string,
  feature: (name: string) => string | undefined,
  keyIndex: Map<string, number>,
): { clamped: string; contributions: Map<number, string> } {
  const x = (name: string) => feature(name) ?? 'NULL::float8';
  // Stage 1: normalised values, present weight per component, present weight of the components.
  let j = 0;
  const comps = card.components.map((c, ci) => {
    const measures = c.measures.map((m) => {
      const col = x(m.feature);
      const n = q.add(stage, `${p}n${j++}`, `CASE WHEN ${guard} AND ${col} IS NOT NULL THEN ${normaliseSql(m.normalise, col)} END`);
      return { m, col, n };
    });
    const presentWeight = sumSql(measures.map(({ m, col }) => `CASE WHEN ${col} IS NULL THEN ${f8(0)} ELSE ${f8(m.weight)} END`));
    const pw = q.add(stage, `${p}w${ci}`, `CASE WHEN ${guard} THEN ${presentWeight} END`);
    return { c, measures, pw, presentWeight };
  });
  const pcw = q.add(
    stage,
    `${p}pcw`,
    `CASE WHEN ${guard} THEN ${sumSql(comps.map(({ c, presentWeight }) => `CASE WHEN ${presentWeight} > ${f8(0)} THEN ${f8(c.weight)} ELSE ${f8(0)} END`))} END`,
  );
  const mods = card.modifiers.map((mod) => ({
    mod,
    measures: mod.measures.map((m) => {
      const col = x(m.feature);
      return { m, n: q.add(stage, `${p}n${j++}`, `CASE WHEN ${guard} AND ${col} IS NOT NULL THEN ${normaliseSql(m.normalise, col)} END`) };
    }),
  }));

  // Stage 2: points of every measure (0 when excluded, NULL outside the guard).
  let k = 0;
  const contributions = new Map<number, string>();
  const pointsOf = (group: string, measure: string, expr: string) => {
    const col = q.add(stage + 1, `${p}p${k++}`, expr);
    const key = keyIndex.get(`${group}\u0000${measure}`);
    if (key !== undefined) contributions.set(key, q.add(stage + 2, `${p}k${key}`, centsSql(col)));
    return col;
  };
  const componentPoints = comps.map(({ c, measures, pw }) => {
    const share = `(${f8(c.weight)} / ${pcw})`;
    return measures.map(({ m, n }) =>
      pointsOf(
        c.key,
        m.key,
        `CASE WHEN ${pcw} IS NULL THEN NULL WHEN ${pcw} > ${f8(0)} AND ${pw} > ${f8(0)} AND ${n} IS NOT NULL AND ${share} > ${f8(0)}` +
          ` THEN ${f8(100)} * (${share} * (${f8(m.weight)} / ${pw})) * ${n} ELSE ${f8(0)} END`,
      ),
    );
  });
  const modifierPoints = mods.map(({ mod, measures }) =>
    measures.map(({ m, n }) =>
      pointsOf(mod.key, m.key, `CASE WHEN ${pcw} IS NULL THEN NULL WHEN ${pcw} > ${f8(0)} AND ${n} IS NOT NULL THEN ${f8(-m.maxPenalty)} * ${n} ELSE ${f8(0)} END`),
    ),
  );

  // Stage 3: base + penalties, clamped to 0..100 (NULL: no component with data, or outside the guard).
  const base = sumSql(componentPoints.map(sumSql));
  const penalties = sumSql(modifierPoints.map(sumSql));
  const clamped = q.add(
    stage + 2,
    `${p}cl`,
    `CASE WHEN ${pcw} > ${f8(0)} THEN LEAST(${f8(100)}, GREATEST(${f8(0)}, ${base} + ${penalties})) END`,
  );
  return { clamped, contributions };
}

/** The band of a score column for a scorecard (dear-score's bandForScore). */
function bandSql(score: string, card: Scorecard): string {
  return (
    `CASE WHEN ${score} >= ${f8(card.bands.good)} THEN ${sqlText(HealthBand.Good)}` +
    ` WHEN ${score} >= ${f8(card.bands.caution)} THEN ${sqlText(HealthBand.Caution)} ELSE ${sqlText(HealthBand.Danger)} END`
  );
}

export interface ScoringSqlOptions {
  /** The scorecards to score with; the source's `card` column (int) is the index of the one to use, NULL = not scored. */
  cards: Scorecard[];
  /**
   * For the changes' top movers (with minDelta): the scorecard versions the previous scores were
   * computed with; the source's `prev_card` column indexes them (NULL: no previous explanation) and
   * `prev_features` (float8[] in STORED_FEATURE_ORDER) holds the features they were computed from. Without it no movers are
   * computed.
   */
  previous?: Scorecard[];
  /** A change is emitted when the score moved by at least this much since the last emitted one, or the band changed. */
  minDelta?: number;
  /** Source columns passed through to the output as they are. */
  keep?: string[];
  /** Extra output expressions over the source columns kept and the computed ones (see the output of `scoringSql`). */
  output?: string[];
}

/**
 * The scoring query over a source with the columns `card`, f_<feature> for every feature (float8,
 * NULL = no data), and for changes and movers `emitted_score` (numeric), `emitted_band`,
 * `prev_card` and `prev_features`. Its output columns: the kept source columns, `score` (float8,
 * rounded to 2 decimals, NULL when not scored), `band`, and with minDelta `changed` (boolean) and,
 * with previous, `movers` (json, topMovers' array, for changed rows).
 */
export function scoringSql(source: string, sourceColumns: readonly string[], o: ScoringSqlOptions): string {
  const q = new StagedQuery(sourceColumns);
  const feature = (name: string) => (KNOWN_FEATURES.has(name) ? featureColumn(name) : undefined);
  const previous = o.previous ?? [];
  const movers = o.previous !== undefined && o.minDelta !== undefined;
  const keys = moverKeys(movers ? [...o.cards, ...previous] : []);
  const keyIndex = new Map(keys.map((k, i) => [`${k.group}\u0000${k.measure}`, i]));

  const fresh = o.cards.map((card, i) => scorecardStages(q, 0, `c${i}_`, card, `card = ${i}`, feature, keyIndex));
  // Stage 3: the score under the row's scorecard, and its contributions by mover key (0 = not in it).
  const clamped = fresh.length ? `COALESCE(${fresh.map((s) => s.clamped).join(', ')})` : 'NULL::float8';
  const score = q.add(3, 'score', round2Sql(clamped));
  const band = o.cards.length ? `CASE card ${o.cards.map((c, i) => `WHEN ${i} THEN ${bandSql(score, c)}`).join(' ')} END` : 'NULL::text';
  q.add(4, 'band', `CASE WHEN ${score} IS NULL THEN NULL ELSE ${band} END`);
  const output = [...(o.keep ?? []), 'score', 'band'];
  if (o.minDelta !== undefined) {
    q.add(
      4,
      'changed',
      `${score} IS NOT NULL AND (emitted_band IS NULL OR emitted_band <> (${band})` +
        ` OR abs(COALESCE(emitted_score::float8, ${f8(0)}) - ${score}) >= ${f8(o.minDelta)})`,
    );
    output.push('changed');
  }
  if (movers) {
    // A measure's contribution in cents under the row's scorecard (0: not in it).
    const fromKeys = (instances: { contributions: Map<number, string> }[], g: number) => {
      const cols = instances.map((s) => s.contributions.get(g)).filter((c): c is string => c !== undefined);
      return cols.length ? `COALESCE(${cols.join(', ')}, 0::bigint)` : '0::bigint';
    };
    // Stage 5: the previous features (changed rows only), then stages 6-8: the previous scores' contributions.
    const usedBefore = new Set(previous.flatMap((c) => [...c.components, ...c.modifiers].flatMap((g) => g.measures.map((m) => m.feature))));
    const prevFeature = (name: string) => (KNOWN_FEATURES.has(name) && usedBefore.has(name) ? `o_${name}` : undefined);
    for (const name of usedBefore) {
      const at = storedFeaturePosition(name);
      if (KNOWN_FEATURES.has(name)) q.add(5, `o_${name}`, at === undefined ? 'NULL::float8' : `CASE WHEN changed THEN prev_features[${at}] END`);
    }
    const before = previous.map((card, i) => scorecardStages(q, 6, `v${i}_`, card, `changed AND prev_card = ${i}`, prevFeature, keyIndex));
    // Stage 9: a sortable code per measure whose rounded contribution moved (topMovers' delta, in
    // cents: exact): |delta| in cents, then the key's rank (ties: by component, then measure), then
    // the sign; the three largest codes are the top movers, and a delta is rebuilt from its code as
    // round2 computes it: sign × cents / 100.
    const K = Math.max(keys.length, 1);
    keys.forEach((_, g) => {
      const delta = `(${fromKeys(fresh, g)} - ${fromKeys(before, g)})`;
      q.add(9, `e${g}`, `CASE WHEN changed THEN (NULLIF(abs(${delta}), 0) * ${K} + ${K - 1 - g}) * 2 + (CASE WHEN ${delta} < 0 THEN 1 ELSE 0 END) END`);
    });
    const codes = keys.map((_, g) => `e${g}`);
    q.add(10, 't1', keys.length ? `GREATEST(${codes.join(', ')})` : 'NULL::bigint');
    q.add(11, 't2', keys.length ? `GREATEST(${codes.map((e) => `CASE WHEN ${e} < t1 THEN ${e} END`).join(', ')})` : 'NULL::bigint');
    q.add(12, 't3', keys.length ? `GREATEST(${codes.map((e) => `CASE WHEN ${e} < t2 THEN ${e} END`).join(', ')})` : 'NULL::bigint');
    // The movers as JSON text (stored as json): printing a jsonb object costs more than writing the
    // text, and the relay copies it into the event as it is. The keys' strings are JSON-escaped here.
    const groups = `ARRAY[${keys.map((k) => sqlText(JSON.stringify(k.group))).join(', ')}]::text[]`;
    const measures = `ARRAY[${keys.map((k) => sqlText(JSON.stringify(k.measure))).join(', ')}]::text[]`;
    const mover = (t: string) => {
      const rank = `(${K - 1} - (${t} / 2) % ${K} + 1)`;
      const cents = `((${t} / 2) / ${K})`;
      return (
        `'{"component": ' || (${groups})[${rank}] || ', "measure": ' || (${measures})[${rank}] ||` +
        ` ', "deltaPoints": ' || (((CASE WHEN ${t} % 2 = 1 THEN -1 ELSE 1 END) * ${cents})::float8 / ${f8(100)})::text || '}'`
      );
    };
    q.add(
      13,
      'movers',
      `(CASE WHEN NOT changed THEN NULL WHEN t1 IS NULL THEN '[]' WHEN t2 IS NULL THEN '[' || ${mover('t1')} || ']'` +
        ` WHEN t3 IS NULL THEN '[' || ${mover('t1')} || ', ' || ${mover('t2')} || ']'` +
        ` ELSE '[' || ${mover('t1')} || ', ' || ${mover('t2')} || ', ' || ${mover('t3')} || ']' END)::json`,
    );
    output.push('movers');
  }
  return q.sql(source, [...output, ...(o.output ?? [])]);
}
