import { fork, type ChildProcess } from 'node:child_process';
import { setPriority } from 'node:os';
import type { Logger } from 'pino';
import { LANE_PROCESS_ENV } from '@kizuna/shared/config';

const RESPAWN_LIMIT = 5;
const RESPAWN_WINDOW_MS = 60_000;
const RESPAWN_DELAY_MS = 1_000;

/** What a lane process sends its parent over the IPC channel. */
export const LANE_MESSAGES = { outboxKick: 'kizuna:outbox-kick' } as const;

/** The script a service was started with (set by bootstrapService): what its lane process runs. */
let serviceEntry: { script: string; args: string[] } | undefined;

export function rememberServiceEntry(): void {
  const script = process.argv[1];
  if (script) serviceEntry = { script, args: process.argv.slice(2) };
}

/** The service's entry script, when it was started by bootstrapService (not by a test's module). */
export function laneProcessEntry(): { script: string; args: string[] } | undefined {
  return serviceEntry;
}

export interface LaneProcessOptions {
  entry: { script: string; args: string[] };
  /** Niceness of the child (0–19). */
  nice: number;
  logger: Logger;
  /** How long stop() waits for the child's graceful exit before killing it. */
  stopTimeoutMs: number;
  /** The child committed outbox rows: wake this process's relay. */
  onOutboxKick: () => void;
  /** The child keeps dying (more than 5 times a minute): the service should stop. */
  onGiveUp: () => void;
}

/**
 * The child process that runs a service's lanes (KAFKA_LANES=process): the same entry script with
 * LANE_PROCESS_ENV set, at a lower CPU priority, so the product stream it applies takes the CPU only
 * when the service's own process does not need it. A child that dies is started again after a second;
 * more than 5 deaths a minute give up (the service then stops rather than loop). The child stops when
 * its IPC channel closes, so it does not outlive a parent that was killed.
 */
export class LaneProcess {
  private child?: ChildProcess;
  private exited?: Promise<void>;
  private stopping = false;
  private respawn?: NodeJS.Timeout;
  private readonly deaths: number[] = [];

  constructor(private readonly options: LaneProcessOptions) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): void {
    const { entry, logger } = this.options;
    const child = fork(entry.script, entry.args, {
      env: { ...process.env, [LANE_PROCESS_ENV]: '1' },
      // The parent's Node flags, less those a second process must not repeat (a debugger port, a watcher).
      // A CPU profile of the parent's name gets the prefix `lanes-` (it would overwrite the parent's).
      execArgv: process.execArgv
        .filter((a) => !/^--(inspect|debug|watch)/.test(a))
        .map((a) => a.replace(/^--cpu-prof-name=(.*?)([^/]*)$/, '--cpu-prof-name=$1lanes-$2')),
      stdio: 'inherit',
    });
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    if (child.pid !== undefined) {
      try {
        setPriority(child.pid, this.options.nice);
      } catch (e) {
        logger.warn({ err: { message: (e as Error).message }, pid: child.pid }, 'cannot lower the lane process priority');
      }
    }
    logger.info({ pid: child.pid, nice: this.options.nice }, 'lane process started');
    child.on('message', (m) => {
      if (m === LANE_MESSAGES.outboxKick) this.options.onOutboxKick();
    });
    child.once('exit', (code, signal) => this.onExit(code, signal));
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.stopping) return;
    const { logger } = this.options;
    const now = Date.now();
    this.deaths.push(now);
    while (this.deaths.length && (this.deaths[0] ?? 0) < now - RESPAWN_WINDOW_MS) this.deaths.shift();
    if (this.deaths.length > RESPAWN_LIMIT) {
      logger.fatal({ code, signal }, 'the lane process keeps dying; stopping the service');
      this.options.onGiveUp();
      return;
    }
    logger.error({ code, signal }, 'the lane process died; starting another');
    this.respawn = setTimeout(() => {
      this.respawn = undefined;
      if (!this.stopping) this.start();
    }, RESPAWN_DELAY_MS);
  }

  /** SIGTERM to the child (it finishes and commits its work), then its exit; SIGKILL past the timeout. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.respawn) clearTimeout(this.respawn);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), this.options.stopTimeoutMs);
    await this.exited;
    clearTimeout(timer);
  }
}
