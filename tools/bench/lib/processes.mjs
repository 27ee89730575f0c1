// Child processes of the bench: started here, always stopped again (also on failure / Ctrl-C).
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:net';

const running = new Set();
const startListeners = new Set();

/** Calls fn(entry) for every long-running process started from now on (not for runCommand's). Returns an unsubscribe. */
export function onProcessStart(fn) {
  startListeners.add(fn);
  return () => startListeners.delete(fn);
}

/** Starts a long-running child whose stdout/stderr go to logFile. */
export function startProcess(name, cmd, args, { env = process.env, cwd, logFile, capture = false, command = false } = {}) {
  // BENCH_NODE_ARGS: extra Node flags for the services the bench starts (e.g. --trace-gc), for diagnosis.
  const extra = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  if (extra.length && cmd === process.execPath && args.some((a) => /dist\/apps\//.test(a))) args = [...extra, ...args];
  const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  if (logFile) {
    const out = createWriteStream(logFile, { flags: 'a' });
    child.stdout.pipe(out);
    child.stderr.pipe(out);
  } else if (!capture) {
    child.stdout.resume();
    child.stderr.resume();
  }
  const entry = { name, child, pid: child.pid };
  entry.exited = new Promise((resolve) => {
    child.once('error', (error) => resolve({ code: null, signal: null, error }));
    child.once('exit', (code, signal) => resolve({ code, signal }));
  }).finally(() => running.delete(entry));
  running.add(entry);
  if (!command && child.pid) for (const fn of startListeners) fn(entry);
  return entry;
}

export const isRunning = (entry) => entry.child.exitCode === null && entry.child.signalCode === null;

/** SIGTERM, then SIGKILL after timeoutMs. Resolves with the exit code/signal. */
export async function stopProcess(entry, timeoutMs = 20000) {
  if (isRunning(entry)) {
    entry.child.kill('SIGTERM');
    const killer = setTimeout(() => entry.child.kill('SIGKILL'), timeoutMs);
    const result = await entry.exited;
    clearTimeout(killer);
    return result;
  }
  return entry.exited;
}

export const stopAllProcesses = () => Promise.all([...running].map((e) => stopProcess(e, 5000)));

/** Runs a command to completion, collecting its output. Rejects on a non-zero exit unless allowFailure. */
export function runCommand(cmd, args, { env = process.env, cwd, allowFailure = false, onLine } = {}) {
  const entry = startProcess(cmd, cmd, args, { env, cwd, capture: true, command: true });
  let stdout = '';
  let stderr = '';
  entry.child.stdout.on('data', (d) => {
    stdout += d;
    if (onLine) for (const line of String(d).split('\n')) if (line.trim()) onLine(line);
  });
  entry.child.stderr.on('data', (d) => (stderr += d));
  return entry.exited.then(({ code, signal, error }) => {
    if (!allowFailure && (error || code !== 0)) {
      const why = error ? error.message : `exit ${code ?? signal}`;
      throw new Error(`${cmd} ${args.join(' ')} failed (${why})\n${stderr.slice(-2000)}${stdout.slice(-2000)}`);
    }
    return { code, stdout, stderr };
  });
}

/** Polls url until it answers 200; fails early if the process exits. */
export async function waitForHttp(url, entry, timeoutMs = 60000) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (entry && !isRunning(entry)) throw new Error(`${entry.name} exited before answering ${url}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
      last = `${res.status} ${await res.text()}`;
    } catch (e) {
      last = e.message;
    }
    await sleep(250);
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms (last: ${last})`);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const canListen = (port) =>
  new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });

let nextBasePort;
/**
 * A port for a service or server the bench starts: the next free one from BENCH_BASE_PORT upwards
 * when that is set (two checkouts benching at once keep to their own ranges), else any free port.
 */
export async function servicePort() {
  const base = process.env.BENCH_BASE_PORT;
  if (!base) return freePort();
  if (!/^\d+$/.test(base) || Number(base) < 1024 || Number(base) > 65000) throw new Error(`BENCH_BASE_PORT must be a port between 1024 and 65000, got ${base}`);
  nextBasePort ??= Number(base);
  for (let i = 0; i < 200; i++) {
    const port = nextBasePort++;
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port in ${base}..${nextBasePort - 1} (BENCH_BASE_PORT)`);
}

/** A TCP port nobody listens on right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}
