import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const FRONTEND = join(REPO_ROOT, 'frontend');

function newestMtime(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = 0;
  for (const entry of readdirSync(path)) {
    if (entry === 'node_modules' || entry === 'dist') continue;
    newest = Math.max(newest, newestMtime(join(path, entry)));
  }
  return newest;
}

/**
 * Builds the chat page with Vite when `frontend/dist` is missing or older than its sources, and
 * returns the directory to serve. The page reads its WebSocket URL from `/config.json` at run time,
 * so one build serves any port.
 */
export async function ensureFrontendBuilt(progress: (line: string) => void): Promise<string> {
  const dist = join(FRONTEND, 'dist');
  const index = join(dist, 'index.html');
  if (existsSync(index) && statSync(index).mtimeMs >= newestMtime(FRONTEND)) return dist;
  progress('      building the chat page (vite build, once)...');
  const vite = join(FRONTEND, 'node_modules', 'vite', 'bin', 'vite.js');
  const result = spawnSync(process.execPath, [vite, 'build', '--logLevel', 'warn'], {
    cwd: FRONTEND,
    encoding: 'utf8',
  });
  if (result.status !== 0) {
    throw new Error(`building the chat page failed:\n${result.stderr || result.stdout}`);
  }
  return dist;
}
