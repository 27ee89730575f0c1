// Memory and CPU figures from /proc: peak RSS of a process, and the CPU time each party
// (server under test, broker, Postgres, load generator, whole machine) used during a scenario.
import { readFileSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

export function rssKiB(pid) {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Samples VmRSS every intervalMs; `peakMiB()` / `lastMiB()` at any time, `stop()` at the end. */
export function rssSampler(pid, intervalMs = 200) {
  let peak = 0;
  let last = 0;
  const read = () => {
    const kib = rssKiB(pid);
    if (kib === undefined) return;
    last = kib;
    if (kib > peak) peak = kib;
  };
  read();
  const timer = setInterval(read, intervalMs);
  return {
    /** Starts a new peak window (per scenario). */
    reset() {
      read();
      peak = last;
    },
    peakMiB: () => (read(), round1(peak / 1024)),
    lastMiB: () => round1(last / 1024),
    stop: () => clearInterval(timer),
  };
}

/** utime + stime of a process, in seconds (0 if it is gone). */
function procCpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime, stime (fields 14, 15)
  } catch {
    return 0;
  }
}

/** Every process whose command name is exactly `comm` (e.g. all Postgres backends). */
function pidsNamed(comm) {
  const pids = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/comm`, 'utf8').trim() === comm) pids.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

function machineCpuSeconds() {
  const [, ...v] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = v;
  return { busy: (user + nice + system + irq + softirq + steal) / CLK_TCK, total: (user + nice + system + idle + iowait + irq + softirq + steal) / CLK_TCK };
}

/**
 * CPU snapshot of the named parties: { server: pid, broker: pid, ... }; Postgres (every
 * `postgres` process, backends exit and appear, so this is approximate) and this process
 * (the load generator) are added automatically.
 */
export function cpuSnapshot(pids) {
  const snap = { at: performance.now(), machine: machineCpuSeconds(), parties: {} };
  for (const [name, pid] of Object.entries(pids)) if (pid) snap.parties[name] = procCpuSeconds(pid);
  snap.parties.postgres = pidsNamed('postgres').reduce((s, pid) => s + procCpuSeconds(pid), 0);
  const own = process.cpuUsage();
  snap.parties.loadgen = (own.user + own.system) / 1e6;
  return snap;
}

/** CPU use between two snapshots, in % of one core (200 % = both cores of a 2-core machine). */
export function cpuBetween(a, b) {
  const wall = (b.at - a.at) / 1000;
  const out = {};
  for (const name of Object.keys(b.parties)) {
    if (a.parties[name] === undefined) continue;
    out[name] = Math.round(((b.parties[name] - a.parties[name]) / wall) * 100);
  }
  out.machineBusy = Math.round(((b.machine.busy - a.machine.busy) / wall) * 100);
  return { wallSeconds: round1(wall), percentOfOneCore: out, serverCpuSeconds: b.parties.server !== undefined ? b.parties.server - a.parties.server : undefined };
}

const round1 = (x) => Math.round(x * 10) / 10;
