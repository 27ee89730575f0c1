// Charts of a bench result, written as plain SVG from the series (no charting library): consumer lag
// and service RSS over the whole run with its phases, and the throughput of every scenario.
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const fmt = (v) => (v >= 1e6 ? `${Math.round(v / 1e5) / 10}M` : v >= 1e3 ? `${Math.round(v / 100) / 10}k` : String(Math.round(v)));
const f1 = (x) => Math.round(x * 10) / 10;

/** One panel: time on x, the named series on y (symlog for lag: 0 and 1,000,000 on one chart). */
function panel({ x0, y0, w, h, title, tMax, series, phases, log, unit }) {
  const out = [];
  const vMax = Math.max(1, ...series.flatMap((s) => s.points.map((p) => p[1])));
  const yOf = log ? (v) => Math.log10(1 + v) / Math.log10(1 + vMax) : (v) => v / vMax;
  const X = (t) => x0 + (t / tMax) * w;
  const Y = (v) => y0 + h - yOf(v) * h;
  out.push(`<text x="${x0}" y="${y0 - 8}" font-size="13" font-weight="bold">${esc(title)}</text>`);
  phases.forEach((p, i) => {
    const a = X(p.fromSec);
    const b = X(p.toSec ?? tMax);
    if (i % 2 === 0) out.push(`<rect x="${f1(a)}" y="${y0}" width="${f1(Math.max(0, b - a))}" height="${h}" fill="#f2f2f2"/>`);
    out.push(`<text x="${f1(a + 2)}" y="${y0 + 11}" font-size="9" fill="#666">${i + 1}</text>`);
  });
  out.push(`<rect x="${x0}" y="${y0}" width="${w}" height="${h}" fill="none" stroke="#999"/>`);
  const ticks = log ? [0, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7].filter((v) => v <= vMax * 1.01) : [0, 0.25, 0.5, 0.75, 1].map((q) => q * vMax);
  for (const v of ticks) {
    const y = f1(Y(v));
    out.push(`<line x1="${x0}" x2="${x0 + w}" y1="${y}" y2="${y}" stroke="#ddd"/>`, `<text x="${x0 - 4}" y="${y + 3}" font-size="10" text-anchor="end">${fmt(v)}${unit && v === ticks.at(-1) ? ` ${unit}` : ''}</text>`);
  }
  for (let s = 0; s <= tMax; s += tMax > 600 ? 120 : tMax > 200 ? 60 : 30) {
    out.push(`<text x="${f1(X(s))}" y="${y0 + h + 13}" font-size="10" text-anchor="middle">${s} s</text>`);
  }
  series.forEach((s, i) => {
    // Gaps (no sample: the group had no members, the service was not running) break the line.
    const segs = [];
    let cur = [];
    for (const [t, v] of s.points) {
      if (v === null || v === undefined) {
        if (cur.length) segs.push(cur);
        cur = [];
      } else cur.push(`${f1(X(t))},${f1(Y(v))}`);
    }
    if (cur.length) segs.push(cur);
    for (const seg of segs) {
      out.push(seg.length === 1
        ? `<circle cx="${seg[0].split(',')[0]}" cy="${seg[0].split(',')[1]}" r="1.5" fill="${COLORS[i % COLORS.length]}"/>`
        : `<polyline fill="none" stroke="${COLORS[i % COLORS.length]}" stroke-width="1.5" points="${seg.join(' ')}"/>`);
    }
    const ly = y0 + 14 + i * 14;
    out.push(
      `<line x1="${x0 + w + 12}" x2="${x0 + w + 30}" y1="${ly - 4}" y2="${ly - 4}" stroke="${COLORS[i % COLORS.length]}" stroke-width="2"/>`,
      `<text x="${x0 + w + 34}" y="${ly}" font-size="11">${esc(s.name)} (max ${fmt(Math.max(0, ...s.points.map((p) => p[1] ?? 0)))}${unit ? ` ${unit}` : ''})</text>`,
    );
  });
  return out.join('\n');
}

/** Lag of every consumer group and RSS of every service over the run, phases numbered and listed. */
export function timelineSvg(timeline, { title }) {
  const { samples, phases } = timeline;
  const tMax = Math.max(1, samples.at(-1)?.t ?? 1);
  const groups = [...new Set(samples.flatMap((s) => Object.keys(s.lag ?? {})))].sort();
  const services = [...new Set(samples.flatMap((s) => Object.keys(s.rssMiB ?? {})))].sort();
  const lagSeries = groups.map((g) => ({ name: g, points: samples.map((s) => [s.t, s.lag?.[g] ?? null]) }));
  const rssSeries = services.map((n) => ({ name: n, points: samples.map((s) => [s.t, s.rssMiB?.[n] ?? null]) }));
  const W = 1000;
  const x0 = 70;
  const w = 600;
  const h = 220;
  const legendH = 16 * phases.length;
  const H = 40 + h + 50 + h + 40 + legendH + 10;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${x0}" y="18" font-size="14" font-weight="bold">${esc(title)}</text>`,
    panel({ x0, y0: 50, w, h, title: 'Consumer lag per group (messages, log scale; sampled every second)', tMax, series: lagSeries, phases, log: true }),
    panel({ x0, y0: 50 + h + 50, w, h, title: 'RSS per service (MiB)', tMax, series: rssSeries, phases, log: false, unit: 'MiB' }),
  ];
  const ly = 50 + 2 * h + 50 + 36;
  phases.forEach((p, i) => {
    parts.push(`<text x="${x0}" y="${ly + i * 16}" font-size="11">${i + 1}. ${esc(p.label)} (${Math.round(p.fromSec)}–${Math.round(p.toSec ?? tMax)} s)</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

/** Horizontal bars: [label, value, unit][] (each bar labelled with its value). */
export function barsSvg(bars, { title }) {
  const W = 1000;
  const x0 = 380;
  const w = 480;
  const rowH = 22;
  const H = 40 + bars.length * rowH + 20;
  const vMax = Math.max(1, ...bars.map((b) => b[1] ?? 0));
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">${esc(title)}</text>`,
  ];
  bars.forEach(([label, value, unit, group], i) => {
    const y = 36 + i * rowH;
    const bw = value ? (value / vMax) * w : 0;
    parts.push(
      `<text x="${x0 - 8}" y="${y + 14}" font-size="11" text-anchor="end">${esc(label)}</text>`,
      `<rect x="${x0}" y="${y + 2}" width="${f1(bw)}" height="${rowH - 6}" fill="${COLORS[(group ?? 0) % COLORS.length]}"/>`,
      `<text x="${f1(x0 + bw + 6)}" y="${y + 14}" font-size="11">${value === undefined || value === null ? '–' : `${Math.round(value).toLocaleString('en-US')} ${esc(unit)}`}</text>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
