import { copyFile, mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

/** packages/agent */
export const AGENT_PACKAGE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The container's entry point: `src/server.ts`, bundled. */
export const AGENT_ENTRY = join(AGENT_PACKAGE_DIR, 'src/server.ts');
/** The runtime image's Dockerfile; copied next to the bundle, which is the whole Docker build context. */
export const AGENT_DOCKERFILE = join(AGENT_PACKAGE_DIR, 'Dockerfile');
/** Name of the bundled entry inside the output directory (the Dockerfile runs `node server.mjs`). */
export const BUNDLE_ENTRY_FILE = 'server.mjs';
/**
 * Upper bound on the bundle (all files of the build context). The bundle is what every AgentCore
 * session's container loads; it measured 4.7 MB at the time of writing (16 MB with all of AgentKit).
 */
export const BUNDLE_SIZE_LIMIT_BYTES = 20_000_000;

/**
 * Optional native parts of dependencies, each of which has a pure-JS path that its loader takes
 * when the native module cannot be required (checked in each loader's source):
 * - `bufferutil`, `utf-8-validate`: ws 7 and 8 `require` them inside try/catch (ws 8 first checks
 *   WS_NO_BUFFER_UTIL / WS_NO_UTF_8_VALIDATE) and fall back to their JS masking / UTF-8 checks;
 * - `node-gyp-build`, `bindings`: native loaders; `secp256k1` (Coinbase SDK) requires
 *   `./bindings` (which calls node-gyp-build) in try/catch and falls back to `./elliptic`;
 * - `@aws-sdk/signature-v4-crt`: the AWS CRT signer, only for SigV4a, required in try/catch;
 * - `openai`: not installed; only `AGENT_MODEL=openai` imports it, and `models.ts` turns the
 *   failure into an `invalid_config` error that names the missing package.
 * Each resolves to a module that throws MODULE_NOT_FOUND when (and only when) it is required, so
 * the bundle holds no `.node` file and never reaches for node_modules at run time.
 */
export const ABSENT_MODULES = [
  'bufferutil',
  'utf-8-validate',
  'node-gyp-build',
  'bindings',
  '@aws-sdk/signature-v4-crt',
  'openai',
] as const;

/**
 * Solana-only modules that are reachable from the agent's imports but never run by it:
 * - `@x402/svm`: an optional peer dependency of the CDP SDK, imported (by dynamic `import()`, in
 *   both its builds) only by `signSolanaX402Payment`, i.e. by the `signX402Payment` method of a CDP
 *   *Solana* account. The agent only ever holds a CDP EVM account (`cdp.evm.getOrCreateAccount`)
 *   or a local viem account. The installed copy cannot be bundled either: AgentKit 0.10.4 provides
 *   it to the CDP SDK beside its own `@solana/kit` 2.3.0, while `@x402/svm` 2.27 needs
 *   `@solana/kit` >= 5.1 (an unmet peer dependency in the lockfile), so its `@solana-program/token`
 *   0.9 imports names that kit 2.3 lacks (`sequentialInstructionPlan`) and esbuild refuses the ES
 *   module build the CDP SDK's ES build reaches.
 * Each resolves to the same throwing module as ABSENT_MODULES; if it were ever imported, the CDP SDK
 * turns the failure into its own "Failed to load @x402/svm ..." error.
 */
export const SOLANA_ONLY_MODULES = ['@x402/svm'] as const;

const ABSENT_NAMESPACE = 'agent-bundle-absent';
const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** Leaves the optional native modules (and `openai`) and the Solana-only modules out; see ABSENT_MODULES, SOLANA_ONLY_MODULES. */
function absentModules(): Plugin {
  const absent = [...ABSENT_MODULES, ...SOLANA_ONLY_MODULES];
  const filter = new RegExp(`^(${absent.map(escapeRegExp).join('|')})(/.*)?$`);
  return {
    name: 'absent-modules',
    setup(builder) {
      builder.onResolve({ filter }, (args) => ({ path: args.path, namespace: ABSENT_NAMESPACE }));
      builder.onLoad({ filter: /.*/, namespace: ABSENT_NAMESPACE }, (args) => ({
        // CommonJS, so importers evaluate it lazily (at require / dynamic import time), not at start-up.
        contents: `module.exports = (() => { throw Object.assign(new Error(${JSON.stringify(
          `Cannot find module '${args.path}' (left out of the agent bundle: ${
            (SOLANA_ONLY_MODULES as readonly string[]).some((name) => args.path.startsWith(name))
              ? 'Solana only, the agent holds an EVM account'
              : 'its pure-JS path is used'
          })`,
        )}), { code: 'MODULE_NOT_FOUND' }); })();`,
        loader: 'js',
      }));
    },
  };
}

/**
 * `bigint-buffer` (Solana libraries inside AgentKit) tries its native addon at load and prints a
 * warning when it is missing; its own browser build is the same code without the addon attempt.
 */
function pureBigintBuffer(): Plugin {
  return {
    name: 'pure-bigint-buffer',
    setup(builder) {
      builder.onResolve({ filter: /^bigint-buffer$/ }, async (args) => {
        if (args.pluginData === 'pure-bigint-buffer') return undefined;
        const resolved = await builder.resolve(args.path, {
          kind: args.kind,
          resolveDir: args.resolveDir,
          importer: args.importer,
          pluginData: 'pure-bigint-buffer',
        });
        if (resolved.errors.length > 0) return { errors: resolved.errors };
        return { path: resolved.path.replace(/node\.js$/, 'browser.js') };
      });
    },
  };
}

/**
 * The AgentKit modules the agent may use: the wallet-provider base classes, the Viem provider
 * (devnet) and the CDP EVM provider (cloud). AgentKit's index loads every action provider and
 * every wallet provider (DeFi protocols and their ABIs, Solana, Privy, ZeroDev: ~11 MB of bundle
 * and most of the start-up time); the bundle replaces `@coinbase/agentkit` with a module that
 * re-exports only these files of `dist/wallet-providers` (AgentKit's own index re-exports the
 * same files, so every name keeps its meaning). `bundleAgent` fails when the agent's sources use
 * an AgentKit name these files do not export.
 */
export const AGENTKIT_WALLET_FILES = [
  'walletProvider.js',
  'evmWalletProvider.js',
  'viemWalletProvider.js',
  'cdpShared.js',
  'cdpEvmWalletProvider.js',
] as const;

const AGENTKIT_NAMESPACE = 'agent-bundle-agentkit';

function agentKitWalletProvidersOnly(): Plugin {
  return {
    name: 'agentkit-wallet-providers-only',
    setup(builder) {
      builder.onResolve({ filter: /^@coinbase\/agentkit$/ }, async (args) => {
        if (args.pluginData === AGENTKIT_NAMESPACE) return undefined;
        const resolved = await builder.resolve(args.path, {
          kind: args.kind,
          resolveDir: args.resolveDir,
          importer: args.importer,
          pluginData: AGENTKIT_NAMESPACE,
        });
        if (resolved.errors.length > 0) return { errors: resolved.errors };
        return { path: join(dirname(resolved.path), 'wallet-providers'), namespace: AGENTKIT_NAMESPACE };
      });
      builder.onLoad({ filter: /.*/, namespace: AGENTKIT_NAMESPACE }, (args) => ({
        // CommonJS like AgentKit itself, re-exporting as its index does (live getters).
        contents: `${AGENTKIT_WALLET_FILES.map(
          (file) =>
            `for (const [k, d] of Object.entries(Object.getOwnPropertyDescriptors(require(${JSON.stringify(
              join(args.path, file),
            )})))) if (k !== 'default' && k !== '__esModule' && !(k in exports)) Object.defineProperty(exports, k, { ...d, enumerable: true });`,
        ).join('\n')}\nObject.defineProperty(exports, '__esModule', { value: true });`,
        resolveDir: args.path,
        loader: 'js',
      }));
    },
  };
}

/** Names the agent's sources take from `@coinbase/agentkit` as values (not `import type`). */
export function agentKitNamesUsedBy(source: string): string[] {
  const names = new Set<string>();
  const lists = [
    ...source.matchAll(/import\s*\{([^}]*)\}\s*from\s*['"]@coinbase\/agentkit['"]/g),
    ...source.matchAll(/const\s*\{([^}]*)\}\s*=\s*await\s+import\(\s*['"]@coinbase\/agentkit['"]\s*\)/g),
  ];
  for (const [, list = ''] of lists) {
    for (const part of list.split(',')) {
      const name = part
        .trim()
        .split(/\s*:\s*|\s+as\s+/)[0]
        ?.trim();
      if (name && !name.startsWith('type ')) names.add(name);
    }
  }
  return [...names].sort();
}

/** Names the agent's (non-test) sources take from AgentKit that AGENTKIT_WALLET_FILES do not export. */
export async function missingAgentKitNamesIn(sourceDir: string): Promise<string[]> {
  const sources = (await readdir(sourceDir)).filter(
    (name) => name.endsWith('.ts') && !name.endsWith('.test.ts'),
  );
  const used = new Set<string>();
  for (const name of sources) {
    for (const used_ of agentKitNamesUsedBy(await readFile(join(sourceDir, name), 'utf8'))) used.add(used_);
  }
  if (used.size === 0) return [];
  const require = createRequire(join(AGENT_PACKAGE_DIR, 'package.json'));
  const walletProviders = join(dirname(require.resolve('@coinbase/agentkit')), 'wallet-providers');
  const exported = new Set(
    AGENTKIT_WALLET_FILES.flatMap((file) => Object.keys(require(join(walletProviders, file)) as object)),
  );
  return [...used].filter((name) => !exported.has(name)).sort();
}

/**
 * Dual-format packages whose CommonJS build is the same code as their ES module build with the same
 * named exports (no default export): CommonJS dependents (the CDP SDK, AgentKit) `require()` them,
 * ES dependents import them, and without this the bundle would hold both builds of one version.
 * A `require()` of these resolves to the ES module build instead (esbuild converts it for require).
 * For the CDP SDK this also keeps one `CdpClient` class: the agent imports it (`wallet.ts`) and hands
 * the client to AgentKit's `CdpEvmWalletProvider`, which `require()`s the SDK.
 */
export const PREFER_ESM_PACKAGES = ['viem', 'ox', 'abitype', '@coinbase/cdp-sdk'] as const;

function preferEsmBuild(): Plugin {
  const filter = new RegExp(`^(${PREFER_ESM_PACKAGES.map(escapeRegExp).join('|')})(/.*)?$`);
  return {
    name: 'prefer-esm-build',
    setup(builder) {
      builder.onResolve({ filter }, async (args) => {
        if (args.kind !== 'require-call' || args.pluginData === 'prefer-esm-build') return undefined;
        const resolved = await builder.resolve(args.path, {
          kind: 'import-statement',
          resolveDir: args.resolveDir,
          importer: args.importer,
          pluginData: 'prefer-esm-build',
        });
        if (resolved.errors.length > 0) return { errors: resolved.errors };
        return { path: resolved.path };
      });
    },
  };
}

// An ESM bundle has no CommonJS globals; bundled CommonJS code (AgentKit, the CDP SDK, ws) uses
// `require` for Node built-ins and `__dirname` / `__filename` in a few places.
const BANNER = [
  "import { createRequire as __bundleCreateRequire } from 'node:module';",
  "import { fileURLToPath as __bundleFileURLToPath } from 'node:url';",
  "import { dirname as __bundleDirname } from 'node:path';",
  'const require = __bundleCreateRequire(import.meta.url);',
  'const __filename = __bundleFileURLToPath(import.meta.url);',
  'const __dirname = __bundleDirname(__filename);',
].join('\n');

export interface BundleAgentOptions {
  /** Output directory (emptied first): becomes the Docker build context (bundle + Dockerfile). */
  outdir: string;
}

export interface BundleAgentResult {
  outdir: string;
  /** Absolute path of the bundled entry (`server.mjs`). */
  entry: string;
  /** Every file of the output directory with its size. */
  files: { name: string; bytes: number }[];
  /** Total size of the output directory in bytes. */
  bytes: number;
  /** Inputs that are native addons or native loaders (must be empty). */
  nativeInputs: string[];
  /** How many source files went into the bundle. */
  inputCount: number;
  /** AgentKit names the agent's sources use that the bundle's AgentKit module does not export (must be empty). */
  missingAgentKitNames: string[];
  /** Bytes of the bundle by npm package (`(agent)` for workspace sources), largest first. */
  packages: { name: string; bytes: number }[];
}

/** `.../node_modules/@scope/name/...` → `@scope/name`; workspace sources → `(workspace)`. */
function packageOf(input: string): string {
  const match = /.*node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
  return match?.[1] ?? '(workspace)';
}

/**
 * Bundles the agent (`src/server.ts`) with esbuild into one self-contained ESM file for Node 22
 * (no node_modules, no native addons, no tsx at run time) and puts the runtime Dockerfile next to
 * it, so the output directory is the complete build context of the AgentCore image.
 *
 * @example
 * const { entry, bytes } = await bundleAgent({ outdir: 'packages/agent/dist' });
 * // node dist/server.mjs
 */
export async function bundleAgent(options: BundleAgentOptions): Promise<BundleAgentResult> {
  const outdir = resolve(options.outdir);
  await rm(outdir, { recursive: true, force: true });
  await mkdir(outdir, { recursive: true });
  const result = await build({
    entryPoints: [AGENT_ENTRY],
    outfile: join(outdir, BUNDLE_ENTRY_FILE),
    absWorkingDir: AGENT_PACKAGE_DIR,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    // One file: with code splitting esbuild drops the named exports of a CommonJS package loaded by
    // dynamic import (AgentKit's WalletProvider came back undefined). Minified so that the banner's
    // CommonJS globals never collide with a bundled module's own top-level names.
    splitting: false,
    minify: true,
    legalComments: 'none',
    metafile: true,
    banner: { js: BANNER },
    plugins: [absentModules(), pureBigintBuffer(), agentKitWalletProvidersOnly(), preferEsmBuild()],
    logLevel: 'silent',
  });
  const nativeInputs = Object.keys(result.metafile.inputs).filter((input) =>
    /\.node$|\/node_modules\/(node-gyp-build|bindings|prebuild-install|node-addon-api)\//.test(input),
  );
  const byPackage = new Map<string, number>();
  for (const output of Object.values(result.metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      byPackage.set(packageOf(input), (byPackage.get(packageOf(input)) ?? 0) + bytesInOutput);
    }
  }
  const missingAgentKitNames = await missingAgentKitNamesIn(join(AGENT_PACKAGE_DIR, 'src'));
  await copyFile(AGENT_DOCKERFILE, join(outdir, 'Dockerfile'));
  const files = await Promise.all(
    (await readdir(outdir))
      .sort()
      .map(async (name) => ({ name, bytes: (await stat(join(outdir, name))).size })),
  );
  return {
    outdir,
    entry: join(outdir, BUNDLE_ENTRY_FILE),
    files,
    bytes: files.reduce((sum, file) => sum + file.bytes, 0),
    nativeInputs,
    missingAgentKitNames,
    inputCount: Object.keys(result.metafile.inputs).length,
    packages: [...byPackage].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes),
  };
}

/** Problems that make a bundle unfit to ship: too large, or a native addon inside. */
export function bundleProblems(result: BundleAgentResult, limit = BUNDLE_SIZE_LIMIT_BYTES): string[] {
  const problems: string[] = [];
  if (result.bytes > limit) {
    problems.push(`bundle_too_large: ${result.bytes} bytes > limit ${limit} bytes`);
  }
  for (const input of result.nativeInputs) problems.push(`native_addon_in_bundle: ${input}`);
  for (const name of result.missingAgentKitNames) {
    problems.push(`agentkit_name_not_bundled: ${name} (add its file to AGENTKIT_WALLET_FILES)`);
  }
  for (const file of result.files) {
    if (file.name.endsWith('.node')) problems.push(`native_addon_in_bundle: ${file.name}`);
  }
  return problems;
}
