// Memory and CPU figures from /proc: peak RSS of a process tree (a service may fork cluster
// workers), and the CPU time each party (server under test, broker, Postgres, load generator,
// whole machine) used during a scenario.
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

/** /proc/<pid>/stat fields after the command name: [state, ppid, ...]; undefined if gone. */
function statFields(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

const allPids = () => readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);

/** The process and all its descendants. */
export function processTree(rootPid) {
  return processTrees([rootPid]).get(rootPid);
}

/** Several process trees from one pass over /proc: Map rootPid → [rootPid, ...descendants]. */
export function processTrees(rootPids) {
  const children = new Map();
  for (const pid of allPids()) {
    const ppid = Number(statFields(pid)?.[1]);
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid).push(pid);
  }
  return new Map(rootPids.map((pid) => [pid, descendants(children, pid)]));
}

function descendants(children, rootPid) {
  const out = [];
  for (const queue = [rootPid]; queue.length; ) {
    const pid = queue.shift();
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

/**
 * Samples the summed VmRSS of a process tree every intervalMs; `peakMiB()` / `lastMiB()` at any
 * time, `reset()` starts a new peak window (per scenario), `stop()` at the end.
 */
export function rssSampler(rootPid, intervalMs = 200) {
  let peak = 0;
  let last = 0;
  let processes = 1;
  const read = () => {
    const pids = processTree(rootPid);
    const kib = pids.reduce((s, pid) => s + (rssKiB(pid) ?? 0), 0);
    if (!kib) return;
    last = kib;
    processes = Math.max(processes, pids.length);
    if (kib > peak) peak = kib;
  };
  read();
  const timer = setInterval(read, intervalMs);
  return {
    reset() {
      read();
      peak = last;
    },
    peakMiB: () => (read(), round1(peak / 1024)),
    lastMiB: () => (read(), round1(last / 1024)),
    /** Most processes seen in the tree (primary + workers). */
    processes: () => processes,
    stop: () => clearInterval(timer),
  };
}

/** utime + stime of a process, in seconds (0 if it is gone). */
function procCpuSeconds(pid) {
  const f = statFields(pid);
  return f ? (Number(f[11]) + Number(f[12])) / CLK_TCK : 0; // utime, stime (fields 14, 15)
}

/** Every process whose command name is exactly `comm` (e.g. all Postgres backends). */
function pidsNamed(comm) {
  return allPids().filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === comm;
    } catch {
      return false; // gone meanwhile
    }
  });
}

function machineCpuSeconds() {
  const [, ...v] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = v;
  return { busy: (user + nice + system + irq + softirq + steal) / CLK_TCK, total: (user + nice + system + idle + iowait + irq + softirq + steal) / CLK_TCK };
}

const cpuOf = (pids) => new Map(pids.map((pid) => [pid, procCpuSeconds(pid)]));

/**
 * CPU snapshot of the named parties, each a process tree: { server: pid, broker: pid }.
 * Postgres (every `postgres` process) and this process (the load generator) are added.
 * Kept per pid, so processes exiting between two snapshots never make a sum go down.
 */
export function cpuSnapshot(roots) {
  const parties = {};
  for (const [name, pid] of Object.entries(roots)) if (pid) parties[name] = cpuOf(processTree(pid));
  parties.postgres = cpuOf(pidsNamed('postgres'));
  const own = process.cpuUsage();
  parties.loadgen = new Map([[process.pid, (own.user + own.system) / 1e6]]);
  return { at: performance.now(), machine: machineCpuSeconds(), parties };
}

/** CPU use between two snapshots, in % of one core (200 % = both cores of a 2-core machine). */
export function cpuBetween(a, b) {
  const wall = (b.at - a.at) / 1000;
  const seconds = {};
  for (const [name, pids] of Object.entries(b.parties)) {
    if (!a.parties[name]) continue;
    let s = 0;
    for (const [pid, sec] of pids) s += sec - (a.parties[name].get(pid) ?? 0);
    seconds[name] = s;
  }
  const out = Object.fromEntries(Object.entries(seconds).map(([k, s]) => [k, Math.round((s / wall) * 100)]));
  out.machineBusy = Math.round(((b.machine.busy - a.machine.busy) / wall) * 100);
  // Kernel (loopback networking), other processes on the machine, anything not named above.
  out.other = Math.max(0, out.machineBusy - Object.entries(out).filter(([k]) => k !== 'machineBusy').reduce((s, [, v]) => s + v, 0));
  return { wallSeconds: round1(wall), percentOfOneCore: out, serverCpuSeconds: seconds.server };
}

/** How busy the machine is before the bench starts (% of one core): other work skews every figure. */
export async function backgroundBusyPercent(ms = 2000) {
  const a = machineCpuSeconds();
  await new Promise((r) => setTimeout(r, ms));
  const b = machineCpuSeconds();
  return Math.round(((b.busy - a.busy) / (ms / 1000)) * 100);
}

const round1 = (x) => Math.round(x * 10) / 10;

/** The machine's speed on 2026-12-02 by `cpuYardstick` (seconds), the day the yardstick was introduced. */
export const YARDSTICK_REFERENCE = { seconds: 1.8, date: '2026-12-02' };

/**
 * How fast one core of the machine is right now: seconds for 3e8 iterations of `x = (x * 31 + i) | 0`
 * in a Node process of its own (the fastest of `runs`). The cores of this machine are shared with
 * other tenants, and its speed moves by 25 % and more over a day: figures of runs with different
 * yardsticks are not comparable.
 */
export async function cpuYardstick(runs = 2) {
  const { execFile } = await import('node:child_process');
  const script = 'let x = 0; const t = process.hrtime.bigint(); for (let i = 0; i < 3e8; i++) x = (x * 31 + i) | 0; process.stdout.write(String(Number(process.hrtime.bigint() - t) / 1e9) + " " + x);';
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const out = await new Promise((resolve, reject) => execFile(process.execPath, ['-e', script], (e, stdout) => (e ? reject(e) : resolve(stdout))));
    best = Math.min(best, Number(out.split(' ')[0]));
  }
  return Math.round(best * 100) / 100;
}
