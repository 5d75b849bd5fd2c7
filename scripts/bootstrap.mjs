#!/usr/bin/env node
// One entry point for the README's two commands on a fresh machine that has only Node and npm:
//   npm start  -> installs what is missing, then starts the whole local stack
//   npm test   -> installs what is missing, then runs lint, typecheck and every test
// It uses only Node built-ins, because nothing else is installed when it first runs.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// `npm start` reports "ready in" from here, not from when the stack's own process began.
process.env.AGENTIC_PAYMENTS_STARTED_AT_MS = String(Date.now());

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const PNPM_VERSION = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).packageManager.split(
  '@',
)[1];
const [command = 'install', ...rest] = process.argv.slice(2);

function say(line) {
  process.stdout.write(`[bootstrap] ${line}\n`);
}

function fail(line) {
  process.stderr.write(`[bootstrap] error: ${line}\n`);
  process.exit(1);
}

function checkNode() {
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major < 20 || (major === 20 && minor < 19)) {
    fail(`Node ${process.versions.node} is too old; this project needs Node 20.19 or newer.`);
  }
}

function pnpmVersion(cmd) {
  const r = spawnSync(cmd, ['--version'], { encoding: 'utf8', shell: process.platform === 'win32' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** Returns the argv prefix that runs the pinned pnpm, installing it with npm when missing. */
function ensurePnpm() {
  if (pnpmVersion('pnpm') === PNPM_VERSION) return ['pnpm'];
  say(`installing pnpm@${PNPM_VERSION} with npm (one time)...`);
  const r = spawnSync('npm', ['install', '--global', `pnpm@${PNPM_VERSION}`], { stdio: 'inherit' });
  if (r.status === 0 && pnpmVersion('pnpm') === PNPM_VERSION) return ['pnpm'];
  say('global install not possible here; using npx to run pnpm');
  return ['npx', '--yes', `pnpm@${PNPM_VERSION}`];
}

function lockHash() {
  const h = createHash('sha256');
  h.update(readFileSync(join(root, 'pnpm-lock.yaml')));
  h.update(PNPM_VERSION);
  return h.digest('hex');
}

function ensureDependencies(pnpm) {
  const marker = join(root, 'node_modules', '.bootstrap-lock-hash');
  const want = lockHash();
  if (existsSync(marker) && readFileSync(marker, 'utf8') === want) return;
  say('installing dependencies (pnpm install --frozen-lockfile)...');
  const r = spawnSync(pnpm[0], [...pnpm.slice(1), 'install', '--frozen-lockfile'], {
    cwd: root,
    stdio: 'inherit',
  });
  if (r.status !== 0) fail('pnpm install failed; see the output above.');
  writeFileSync(marker, want);
}

/** The browser end-to-end test drives Debian's Chromium; install it when we can (root + apt). */
function ensureChromium() {
  const path = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (existsSync(path)) return;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const hasApt = spawnSync('sh', ['-c', 'command -v apt-get'], { encoding: 'utf8' }).status === 0;
  if (!isRoot || !hasApt) {
    fail(
      `Chromium not found at ${path}. Install it (Debian: sudo apt-get install -y chromium) or set CHROMIUM_PATH.`,
    );
  }
  say('installing Chromium for the browser test (apt-get install chromium)...');
  execFileSync(
    'sh',
    ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium'],
    {
      stdio: 'inherit',
    },
  );
}

function run(pnpm, args) {
  const child = spawn(pnpm[0], [...pnpm.slice(1), ...args], { cwd: root, stdio: 'inherit' });
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

/**
 * Quiet, plain logs: the documented switches, set for everything this command runs.
 * - The AWS SDK (v3, @aws-sdk/core) prints a Node-version maintenance notice once per process
 *   (every test worker) unless AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true; the lockfile
 *   pins today's SDK, so the notice says nothing about this install.
 * - Under CI, colour codes only garble the log: vitest turns colours ON when `CI` is set, and
 *   NO_COLOR (https://no-color.org, honoured by vitest, biome and Node) turns them off again.
 */
function quietLogs(env) {
  env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const ci = env.CI !== undefined && env.CI !== '' && env.CI !== 'false' && env.CI !== '0';
  if (ci && env.FORCE_COLOR === undefined) env.NO_COLOR ??= '1';
}

checkNode();
quietLogs(process.env);
const pnpm = ensurePnpm();
ensureDependencies(pnpm);
switch (command) {
  case 'install':
    say('dependencies are installed.');
    break;
  case 'start':
    // One Node process with the tsx loader: no signal-relaying CLI between Ctrl-C and the stack's
    // own clean shutdown (tsx's CLI exits 130 when a second signal arrives while the stack stops).
    run([process.execPath, '--import', 'tsx'], ['scripts/start.ts', ...rest]);
    break;
  case 'test':
    ensureChromium();
    run(pnpm, ['run', 'test:all', ...rest]);
    break;
  default:
    fail(`unknown command "${command}" (use: install | start | test)`);
}
