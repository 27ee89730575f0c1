// Latency histograms read from a service's GET /metrics (Prometheus text), to say where an end-to-end
// latency goes: the difference of two scrapes is what happened between them.

/** Parses `<name>_bucket{labels,le="x"} n` lines of the histograms named: Map of `name{labels}` → { name, labels, buckets: [[le, cumulative]] }. */
export function parseHistograms(text, names) {
  const out = new Map();
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)_bucket\{(.*)\} (\S+)/.exec(line);
    if (!m || !names.includes(m[1])) continue;
    const labels = {};
    let le;
    for (const [, k, v] of m[2].matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)) {
      if (k === 'le') le = v === '+Inf' ? Infinity : Number(v);
      else labels[k] = v;
    }
    const key = `${m[1]}${JSON.stringify(labels)}`;
    const h = out.get(key) ?? { name: m[1], labels, buckets: [] };
    h.buckets.push([le, Number(m[3])]);
    out.set(key, h);
  }
  for (const h of out.values()) h.buckets.sort((a, b) => a[0] - b[0]);
  return out;
}

/** Scrapes the histograms named from a service on this host; an empty map when it does not answer. */
export async function scrapeHistograms(port, names) {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) });
    return parseHistograms(await res.text(), names);
  } catch {
    return new Map();
  }
}

/** What was observed between two scrapes: after minus before, bucket by bucket. */
export function histogramDelta(before, after) {
  const out = new Map();
  for (const [key, h] of after) {
    const earlier = new Map(before.get(key)?.buckets ?? []);
    out.set(key, { ...h, buckets: h.buckets.map(([le, n]) => [le, n - (earlier.get(le) ?? 0)]) });
  }
  return out;
}

/**
 * Count and quantiles of a histogram in ms, each as the upper bound of the bucket it falls in ("at
 * most"): { count, p50, p90, p99 } (null where nothing was observed; Infinity above the last bound).
 */
export function histogramQuantiles(h, qs = [0.5, 0.9, 0.99]) {
  const total = h.buckets.at(-1)?.[1] ?? 0;
  const out = { count: total };
  for (const q of qs) {
    const bucket = total > 0 ? h.buckets.find(([, n]) => n >= Math.ceil(q * total)) : undefined;
    out[`p${Math.round(q * 100)}`] = bucket ? (Number.isFinite(bucket[0]) ? Math.round(bucket[0] * 1000) : Infinity) : null;
  }
  return out;
}

/** The histogram of `name` whose labels include all of `labels`, or undefined. */
export function findHistogram(histograms, name, labels) {
  for (const h of histograms.values()) {
    if (h.name === name && Object.entries(labels).every(([k, v]) => h.labels[k] === v)) return h;
  }
  return undefined;
}
