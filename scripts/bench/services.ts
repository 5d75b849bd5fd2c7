import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ServiceConfig } from './serve.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SERVE = fileURLToPath(new URL('./serve.ts', import.meta.url));

export interface ChildService {
  url: string;
  pid: number | undefined;
  /** SIGTERM, then the `STATS` line the child printed on its way out. */
  stop(): Promise<Record<string, unknown> | undefined>;
}

/**
 * Spawns `serve.ts` for one service in a fresh Node process (tsx loader) and waits for READY.
 * With BENCH_CPU_PROF=<dir>, each service writes V8 CPU profiles to <dir>/<role>/ when it stops.
 */
export function spawnService(config: ServiceConfig, timeoutMs = 180_000): Promise<ChildService> {
  const profile = process.env.BENCH_CPU_PROF;
  // One directory per service: each of its threads (main, loader, workers) writes a profile.
  const flags = profile ? ['--cpu-prof', `--cpu-prof-dir=${join(profile, config.role)}`] : [];
  const child: ChildProcess = spawn(process.execPath, [...flags, '--import', 'tsx', SERVE], {
    cwd: REPO_ROOT,
    env: { ...process.env, BENCH_SERVICE: JSON.stringify(config) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4_000);
  });
  let stats: Record<string, unknown> | undefined;
  // 'close' fires after stdout ended, so the STATS line has been read by then.
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${config.role}: not ready within ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${config.role} exited with ${code} before READY\n${stderr}`));
    });
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on('line', (line) => {
      if (line.startsWith('STATS ')) stats = JSON.parse(line.slice(6)) as Record<string, unknown>;
      if (!line.startsWith('READY ')) return;
      clearTimeout(timer);
      resolve({
        url: line.slice(6).trim(),
        pid: child.pid,
        stop: async () => {
          if (child.exitCode === null) {
            child.kill('SIGTERM');
            const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
            await exited;
            clearTimeout(killer);
          }
          return stats;
        },
      });
    });
  });
}
