import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './infrastructure';
import { waitFor } from './wait-for';

export const SERVICES = ['ingestion', 'health-scoring', 'lifecycle', 'escalation-routing', 'notification'] as const;
export type ServiceName = (typeof SERVICES)[number];

export interface RunningService {
  name: ServiceName;
  port: number;
  url: string;
  process: ChildProcess;
  output: string[];
  exit: Promise<number | null>;
}

export interface StartServiceOptions {
  /** Where the build is (`node tools/scripts/build.mjs --out <dir>`); default dist/. */
  distDir?: string;
  /** Keep only the last this many output lines (long runs); default all. */
  maxOutputLines?: number;
}

/**
 * Starts a built service (dist/) as a separate Node process with the given environment.
 * Its stdout/stderr lines are kept in `output` (for assertions and for failure messages).
 */
export function startServiceProcess(name: ServiceName, port: number, env: NodeJS.ProcessEnv, options: StartServiceOptions = {}): RunningService {
  const entry = join(options.distDir ?? join(repoRoot(), 'dist'), 'apps', name, 'src', 'main.js');
  const child = spawn(process.execPath, ['--enable-source-maps', entry], {
    cwd: repoRoot(),
    env: { ...process.env, ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const keep = options.maxOutputLines;
  const collect = (chunk: Buffer) => {
    output.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    if (keep !== undefined && output.length > keep) output.splice(0, output.length - keep);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { name, port, url: `http://127.0.0.1:${port}`, process: child, output, exit };
}

export async function waitUntilReady(service: RunningService, timeoutMs = 60000): Promise<void> {
  const died = service.exit.then((code) => {
    throw new Error(`${service.name} exited with ${code}:\n${service.output.slice(-20).join('\n')}`);
  });
  await Promise.race([
    died,
    waitFor(
      `${service.name} /health/ready`,
      async () => (await fetch(`${service.url}/health/ready`).catch(() => undefined))?.status === 200,
      { timeoutMs, intervalMs: 200 },
    ),
  ]);
  died.catch(() => undefined);
}

/** SIGTERM, then the exit code (graceful shutdown exits 0). */
export async function stopServiceProcess(service: RunningService, timeoutMs = 35000): Promise<number | null> {
  if (service.process.exitCode !== null) return service.process.exitCode;
  service.process.kill('SIGTERM');
  const timer = setTimeout(() => service.process.kill('SIGKILL'), timeoutMs);
  const code = await service.exit;
  clearTimeout(timer);
  return code;
}
