// What happens over the whole run, sampled every second: the lag of every consumer group with
// members (Σ high watermark − committed offset over the platform's topics), the RSS of every
// service the bench started, and the phase the bench is in. Kept in the result JSON and drawn
// into an SVG chart (svg.mjs).
import { onProcessStart } from './processes.mjs';
import { processTrees, rssKiB } from './sampler.mjs';

/** logName → service: health-scoring-latency / -capacity / -backfill are all health-scoring. */
const serviceOf = (name) => name.replace(/-(latency|capacity|backfill)$/, '');

export function startTimeline({ admin, topics, intervalMs = 1000, log }) {
  const t0 = performance.now();
  const at = () => Math.round(performance.now() - t0) / 1000;
  const samples = [];
  const phases = [];
  const watched = new Map(); // pid → service
  const peakKiB = {};
  let topicList = [];
  let topicsAt = -Infinity;
  let stopped = false;
  let failures = 0;
  let lastError;

  const unhook = onProcessStart((entry) => watched.set(entry.pid, serviceOf(entry.name)));

  const rssNow = () => {
    const out = {};
    const trees = processTrees([...watched.keys()]);
    for (const [pid, service] of watched) {
      const kib = trees.get(pid).reduce((s, p) => s + (rssKiB(p) ?? 0), 0);
      if (!kib) {
        watched.delete(pid); // exited
        continue;
      }
      out[service] = Math.round(((out[service] ?? 0) + kib / 1024) * 10) / 10;
      peakKiB[service] = Math.max(peakKiB[service] ?? 0, kib);
    }
    return out;
  };

  const lagNow = async () => {
    if (performance.now() - topicsAt > 10000) {
      const existing = new Set(await admin.listTopics());
      topicList = topics.filter((t) => existing.has(t));
      topicsAt = performance.now();
    }
    const { groups } = await admin.listGroups();
    const ids = groups.map((g) => g.groupId);
    if (!ids.length) return {};
    const described = await admin.describeGroups(ids);
    const active = described.groups.filter((g) => g.members.length > 0 && !g.groupId.startsWith('kizuna-bench-')).map((g) => g.groupId);
    const high = new Map();
    for (const topic of topicList) high.set(topic, await admin.fetchTopicOffsets(topic));
    const out = {};
    for (const groupId of active) {
      const committed = await admin.fetchOffsets({ groupId, topics: topicList });
      let lag = 0;
      for (const { topic, partitions } of committed) {
        for (const p of partitions) {
          const h = high.get(topic)?.find((x) => x.partition === p.partition);
          if (h && Number(p.offset) >= 0) lag += Math.max(0, Number(h.high) - Number(p.offset));
        }
      }
      out[groupId] = lag;
    }
    return out;
  };

  const loop = (async () => {
    while (!stopped) {
      const started = performance.now();
      const sample = { t: at(), phase: phases.at(-1)?.label ?? null, rssMiB: rssNow() };
      try {
        sample.lag = await lagNow();
      } catch (e) {
        failures++;
        lastError = e.message; // broker busy or restarting: a gap in the series, not a failed run
      }
      samples.push(sample);
      const wait = intervalMs - (performance.now() - started);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  })();

  return {
    /** Samples a process that was not started by startProcess (the broker) under `service`. */
    watch(service, pid) {
      if (pid) watched.set(pid, service);
    },
    /** Marks the start of a phase (the previous one ends here). */
    phase(label) {
      const now = at();
      const last = phases.at(-1);
      if (last && last.toSec === undefined) last.toSec = now;
      phases.push({ label, fromSec: now });
      log?.(`phase: ${label} (t = ${now} s)`);
    },
    async stop() {
      stopped = true;
      await loop;
      unhook();
      const last = phases.at(-1);
      if (last && last.toSec === undefined) last.toSec = at();
      return {
        intervalMs,
        samples,
        phases,
        peakRssMiB: Object.fromEntries(Object.entries(peakKiB).map(([k, v]) => [k, Math.round((v / 1024) * 10) / 10])),
        sampleFailures: failures,
        ...(lastError ? { lastSampleError: lastError } : {}),
      };
    },
  };
}
