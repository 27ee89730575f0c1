import cluster from 'node:cluster';
import type { Logger } from 'pino';

const RESPAWN_LIMIT = 5;
const RESPAWN_WINDOW_MS = 60_000;

/**
 * Runs `start` in `workers` processes sharing the HTTP port (node:cluster), for an HTTP-bound
 * service on a multi-core host; with one worker it runs in this process. The primary forwards
 * SIGTERM/SIGINT to the workers and exits when they have; a worker that dies is replaced, but
 * more than 5 deaths a minute stop the service rather than loop.
 */
export function runClustered(workers: number, start: () => unknown, logger: Logger): void {
  if (workers <= 1 || !cluster.isPrimary) {
    void start();
    return;
  }
  let stopping = false;
  const deaths: number[] = [];
  for (let i = 0; i < workers; i++) cluster.fork();
  const stop = (signal: NodeJS.Signals) => {
    stopping = true;
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill(signal);
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  cluster.on('exit', (worker, code, signal) => {
    const alive = Object.keys(cluster.workers ?? {}).length;
    if (stopping) {
      if (alive === 0) process.exit(0);
      return;
    }
    const now = Date.now();
    deaths.push(now);
    while (deaths.length && (deaths[0] ?? 0) < now - RESPAWN_WINDOW_MS) deaths.shift();
    if (deaths.length > RESPAWN_LIMIT) {
      logger.fatal({ pid: worker.process.pid, code, signal }, 'workers keep dying; stopping');
      stop('SIGTERM');
      process.exitCode = 1;
      return;
    }
    logger.error({ pid: worker.process.pid, code, signal }, 'worker died; starting another');
    cluster.fork();
  });
}
