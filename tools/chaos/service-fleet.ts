import {
  SERVICES, startServiceProcess, stopServiceProcess, waitFor, type RunningService, type ServiceName,
} from '@kizuna/shared/testing';

export interface FleetStats {
  kills: Record<ServiceName, number>;
  /** Exits nobody asked for (e.g. a start that failed while the broker was down); restarted too. */
  unexpectedExits: Record<ServiceName, number>;
  starts: Record<ServiceName, number>;
  /** When each SIGKILL was sent (epoch ms), per service. */
  killTimes: Record<ServiceName, number[]>;
}

const zero = () => Object.fromEntries(SERVICES.map((s) => [s, 0])) as Record<ServiceName, number>;

/**
 * The five services as processes, kept running like a supervisor would: a process that dies
 * (killed by the harness or exiting by itself) is started again at once, on the same port.
 */
export class ServiceFleet {
  private readonly current = new Map<ServiceName, RunningService>();
  private readonly killed = new WeakSet<RunningService>();
  private stopping = false;
  readonly stats: FleetStats = {
    kills: zero(), unexpectedExits: zero(), starts: zero(), killTimes: Object.fromEntries(SERVICES.map((s) => [s, []])) as unknown as Record<ServiceName, number[]>,
  };
  /** The last lines of every instance that exited (for failure messages). */
  readonly exitedOutput: string[] = [];

  constructor(
    private readonly portOf: (s: ServiceName) => number,
    private readonly env: NodeJS.ProcessEnv,
    private readonly distDir: string,
    private readonly log: (msg: string) => void,
  ) {}

  url(s: ServiceName): string {
    return `http://127.0.0.1:${this.portOf(s)}`;
  }

  startAll(): void {
    for (const s of SERVICES) this.start(s);
  }

  private start(name: ServiceName): void {
    const svc = startServiceProcess(name, this.portOf(name), this.env, { distDir: this.distDir, maxOutputLines: 300 });
    this.stats.starts[name]++;
    this.current.set(name, svc);
    void svc.exit.then((code) => {
      if (this.current.get(name) !== svc || this.stopping) return;
      const byUs = this.killed.has(svc);
      if (!byUs) {
        this.stats.unexpectedExits[name]++;
        this.exitedOutput.push(`--- ${name} exited by itself (${code}):`, ...svc.output.slice(-15));
        this.log(`${name} exited by itself (code ${code}); starting it again`);
      }
      // A supervisor restarts it; a failed start (broker down) backs off a little.
      setTimeout(() => this.stopping || this.current.get(name) !== svc || this.start(name), byUs ? 0 : 1000);
    });
  }

  /** SIGKILL: no shutdown hook runs, in-flight transactions are cut, offsets are not committed. */
  kill(name: ServiceName): void {
    const svc = this.current.get(name);
    if (!svc || svc.process.exitCode !== null) return;
    this.killed.add(svc);
    this.stats.kills[name]++;
    this.stats.killTimes[name].push(Date.now());
    svc.process.kill('SIGKILL');
  }

  async isLive(name: ServiceName): Promise<boolean> {
    return (await fetch(`${this.url(name)}/health/live`, { signal: AbortSignal.timeout(3000) }).catch(() => undefined))?.status === 200;
  }

  async allReady(timeoutMs: number): Promise<void> {
    await waitFor(
      'every service ready',
      async () => {
        for (const s of SERVICES) {
          const r = await fetch(`${this.url(s)}/health/ready`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
          if (r?.status !== 200) return false;
        }
        return true;
      },
      { timeoutMs, intervalMs: 500 },
    );
  }

  /** SIGTERM to all (graceful shutdown); the exit codes. */
  async stopAll(): Promise<Record<ServiceName, number | null>> {
    this.stopping = true;
    const codes = await Promise.all(SERVICES.map(async (s) => [s, this.current.get(s) ? await stopServiceProcess(this.current.get(s) as RunningService) : null] as const));
    return Object.fromEntries(codes) as Record<ServiceName, number | null>;
  }

  output(name: ServiceName): string[] {
    return this.current.get(name)?.output ?? [];
  }
}
