// Summarises a V8 .cpuprofile (node --cpu-prof): top functions by self time, and per package
// both self time and "inclusive" time (samples whose stack contains the package anywhere).
import { readFileSync } from 'node:fs';

/** node_modules/<pkg>, the project's own code, Node internals, or a V8 pseudo-node. */
export function packageOf(url, functionName) {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const parts = url.slice(nm + '/node_modules/'.length).split('/');
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  if (url.startsWith('node:')) return 'node:internal';
  if (/\/dist\/(apps|libs)\//.test(url)) return 'kizuna (dist/)';
  return url.replace(/^file:\/\//, '');
}

/**
 * `window` ({ fromUs, toUs }, CLOCK_MONOTONIC in µs as process.hrtime gives it, the clock V8's
 * profiler uses too) keeps only the samples of one scenario.
 */
export function summariseProfile(file, { top = 25, window } = {}) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  const selfUs = new Map();
  let t = profile.startTime;
  let totalUs = 0;
  profile.samples.forEach((id, i) => {
    const d = Math.max(profile.timeDeltas[i] ?? 0, 0);
    t += d;
    if (window && (t < window.fromUs || t > window.toUs)) return;
    totalUs += d;
    selfUs.set(id, (selfUs.get(id) ?? 0) + d);
  });

  const fnSelf = new Map();
  const pkgSelf = new Map();
  const pkgIncl = new Map();
  const pkgResponsible = new Map();
  for (const [id, us] of selfUs) {
    const { callFrame: f } = byId.get(id);
    const name = `${f.functionName || '(anonymous)'} ${shortUrl(f.url)}${f.url ? `:${f.lineNumber + 1}` : ''}`;
    fnSelf.set(name, (fnSelf.get(name) ?? 0) + us);
    const pkg = packageOf(f.url, f.functionName);
    pkgSelf.set(pkg, (pkgSelf.get(pkg) ?? 0) + us);
    // Responsible: Node internals and native code are charged to the nearest package above them.
    let owner = pkg;
    for (let cur = parent.get(id); (owner === 'node:internal' || owner === '(native)') && cur !== undefined; cur = parent.get(cur)) {
      const cf = byId.get(cur).callFrame;
      const p = packageOf(cf.url, cf.functionName);
      if (p !== 'node:internal' && p !== '(native)' && p !== '(root)') owner = p;
    }
    pkgResponsible.set(owner, (pkgResponsible.get(owner) ?? 0) + us);
    // Inclusive: every package on this node's stack, counted once.
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const cf = byId.get(cur).callFrame;
      seen.add(packageOf(cf.url, cf.functionName));
    }
    for (const p of seen) pkgIncl.set(p, (pkgIncl.get(p) ?? 0) + us);
  }
  const pct = (us) => Math.round((us / totalUs) * 1000) / 10;
  const sorted = (m, n) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([name, us]) => ({ name, ms: Math.round(us / 1000), pct: pct(us) }));
  const idle = (selfUs.size && [...selfUs].filter(([id]) => byId.get(id).callFrame.functionName === '(idle)').reduce((s, [, us]) => s + us, 0)) || 0;
  return {
    file,
    ...(window ? { label: window.label } : {}),
    totalMs: Math.round(totalUs / 1000),
    busyPct: pct(totalUs - idle),
    topFunctionsSelf: sorted(fnSelf, top),
    packagesSelf: sorted(pkgSelf, 20),
    packagesResponsible: sorted(pkgResponsible, 20),
    packagesInclusive: sorted(pkgIncl, 25),
  };
}

function shortUrl(url) {
  if (!url) return '';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) return url.slice(nm + '/node_modules/'.length);
  const dist = url.indexOf('/dist/');
  return dist >= 0 ? url.slice(dist + 1) : url.replace(/^file:\/\//, '');
}

export function formatProfile(s) {
  const lines = [`CPU profile${s.process ? ` of ${s.process}` : ''}${s.label ? ` during ${s.label}` : ''} (${s.file}): ${s.totalMs} ms sampled, service busy ${s.busyPct}% of it`, '', 'top functions (self time):'];
  for (const f of s.topFunctionsSelf) lines.push(`  ${String(f.pct).padStart(5)}%  ${String(f.ms).padStart(6)} ms  ${f.name}`);
  lines.push('', 'packages, self time (Node internals and native code charged to the package that called them):');
  for (const p of s.packagesResponsible) lines.push(`  ${String(p.pct).padStart(5)}%  ${p.name}`);
  lines.push('', 'packages, inclusive (stack contains the package):');
  for (const p of s.packagesInclusive.filter((x) => x.name !== '(root)')) lines.push(`  ${String(p.pct).padStart(5)}%  ${p.name}`);
  return lines.join('\n');
}
