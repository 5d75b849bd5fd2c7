import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type Browser, chromium } from 'playwright-core';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const ARTIFACTS_DIR = join(REPO_ROOT, 'test-artifacts');

/** Debian's chromium (installed by .ci/run), or CHROMIUM_PATH. */
export function chromiumPath(): string {
  const path = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(path)) {
    throw new Error(
      `Chromium not found at ${path}: install it (apt-get install -y chromium) or set CHROMIUM_PATH`,
    );
  }
  return path;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--headless',
    ],
  });
}

/** Files outside frontend/ the chat page bundles (its build is cached by a hash of its sources). */
const CHAT_PAGE_SHARED_SOURCES = ['packages/x402/src/agent-output.ts'];

/**
 * Builds the chat page (frontend/) with Vite, offline, into a temp directory keyed by a hash of its
 * sources: parallel test files and later runs reuse one build, and never touch frontend/dist.
 */
export async function buildChatPage(): Promise<string> {
  const frontend = join(REPO_ROOT, 'frontend');
  const sources = (await readdir(join(frontend, 'src'))).map((f) => `src/${f}`);
  const hash = createHash('sha256');
  for (const file of ['index.html', 'vite.config.ts', 'package.json', ...sources].sort()) {
    hash.update(file).update(await readFile(join(frontend, file)));
  }
  // The page bundles the shared reply contract too.
  for (const file of CHAT_PAGE_SHARED_SOURCES)
    hash.update(file).update(await readFile(join(REPO_ROOT, file)));
  const outDir = join(tmpdir(), `agentic-payments-chat-page-${hash.digest('hex').slice(0, 16)}`);
  if (existsSync(join(outDir, 'index.html'))) return outDir;
  const staging = await mkdtemp(`${outDir}-staging-`);
  await promisify(execFile)(
    'pnpm',
    ['exec', 'vite', 'build', '--outDir', staging, '--emptyOutDir', '--logLevel', 'warn'],
    { cwd: frontend, env: { ...process.env, VITE_WS_URL: '' }, timeout: 120_000 },
  );
  // Another test file may have finished the same build first; both copies are identical.
  await rename(staging, outDir).catch(() => rm(staging, { recursive: true, force: true }));
  return outDir;
}

export async function artifactPath(name: string): Promise<string> {
  await mkdir(ARTIFACTS_DIR, { recursive: true });
  return join(ARTIFACTS_DIR, name);
}
