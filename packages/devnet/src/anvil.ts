import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { DevnetError } from './errors.ts';

const PLATFORM_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64' };

/**
 * Path of the anvil binary shipped by `@foundry-rs/anvil`'s platform package
 * (`@foundry-rs/anvil-<platform>-<arch>`, an optional dependency of the wrapper package). Resolved
 * from the wrapper's own location, the way its `bin.mjs` does, so pnpm's layout is respected.
 */
export function resolveAnvilBinary(): string {
  const fromEnv = process.env.ANVIL_BINARY;
  if (fromEnv) {
    if (!existsSync(fromEnv)) {
      throw new DevnetError('anvil_binary_missing', `devnet: ANVIL_BINARY=${fromEnv} does not exist`);
    }
    return fromEnv;
  }
  const arch = PLATFORM_ARCH[process.arch];
  const platformPackage = arch ? `@foundry-rs/anvil-${process.platform}-${arch}` : undefined;
  const binaryName = process.platform === 'win32' ? 'anvil.exe' : 'anvil';
  try {
    const requireHere = createRequire(import.meta.url);
    const wrapper = requireHere.resolve('@foundry-rs/anvil/package.json');
    if (!platformPackage) throw new Error(`unsupported platform ${process.platform}/${process.arch}`);
    const binary = createRequire(wrapper).resolve(`${platformPackage}/bin/${binaryName}`);
    if (!existsSync(binary)) throw new Error(`${binary} not found`);
    return binary;
  } catch (cause) {
    throw new DevnetError(
      'anvil_binary_missing',
      `devnet: anvil binary not found (${platformPackage ?? `${process.platform}/${process.arch}`} of @foundry-rs/anvil); run \`pnpm install\` or set ANVIL_BINARY`,
      { cause },
    );
  }
}

export interface SpawnAnvilParameters {
  host: string;
  port: number;
  args: string[];
  /** Called with anvil's output lines (it logs every RPC method); off by default. */
  onOutput?: (line: string) => void;
  timeoutMs?: number;
}

export interface AnvilProcess {
  child: ChildProcess;
  /** The address anvil reports it listens on (port 0 resolved to the real port). */
  host: string;
  port: number;
  stop(): Promise<void>;
}

/** Starts anvil and resolves once it prints its listening address; a clear one-line error otherwise. */
export function spawnAnvil({
  host,
  port,
  args,
  onOutput,
  timeoutMs = 15_000,
}: SpawnAnvilParameters): Promise<AnvilProcess> {
  const binary = resolveAnvilBinary();
  const child = spawn(binary, ['--host', host, '--port', String(port), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let exited = false;
  // If this process ends without stop() (an uncaught error, process.exit), take anvil along rather
  // than leave it running in the background. SIGTERM still lets it dump its state.
  const killOnExit = (): void => {
    child.kill('SIGTERM');
  };
  process.once('exit', killOnExit);
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      process.off('exit', killOnExit);
      resolve();
    });
  });

  const stop = async (): Promise<void> => {
    if (exited) return;
    // SIGTERM lets anvil dump its state (`--state`) before exiting.
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exitPromise;
    clearTimeout(timer);
  };

  return new Promise<AnvilProcess>((resolve, reject) => {
    let settled = false;
    const fail = (error: DevnetError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void stop().finally(() => reject(error));
    };
    const timer = setTimeout(
      () =>
        fail(new DevnetError('anvil_start_timeout', `devnet: anvil did not start within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onChunk = (chunk: Buffer): void => {
      const text = chunk.toString('utf8');
      if (settled) {
        if (onOutput) for (const line of text.split('\n')) if (line.trim()) onOutput(line);
        return;
      }
      output += text;
      const match = /Listening on ([^\s:]+|\[[^\]]+\]):(\d+)/.exec(output);
      if (match?.[1] && match[2]) {
        settled = true;
        clearTimeout(timer);
        if (onOutput) for (const line of output.split('\n')) if (line.trim()) onOutput(line);
        resolve({ child, host: match[1], port: Number(match[2]), stop });
      }
    };
    child.stdout?.on('data', onChunk);
    child.stderr?.on('data', onChunk);
    child.once('error', (cause) =>
      fail(
        new DevnetError('anvil_binary_missing', `devnet: cannot run anvil at ${binary}: ${cause.message}`, {
          cause,
        }),
      ),
    );
    child.once('exit', (code, signal) => {
      if (settled) return;
      if (/address already in use|os error 98|os error 48/i.test(output)) {
        fail(new DevnetError('port_in_use', `devnet: port ${port} on ${host} is already in use`));
        return;
      }
      const last = output.trim().split('\n').filter(Boolean).at(-1) ?? '';
      fail(
        new DevnetError(
          'anvil_exited',
          `devnet: anvil exited during start (${signal ?? `code ${code}`})${last ? `: ${last}` : ''}`,
        ),
      );
    });
  });
}
