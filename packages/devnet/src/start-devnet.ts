import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type Address, createWalletClient, type Hash, type Hex, http, pad } from 'viem';
import { DEVNET_ACCOUNTS } from './accounts.ts';
import { type AnvilProcess, spawnAnvil } from './anvil.ts';
import { batchSettlementDeployedBytecode } from './artifacts/batchSettlement.ts';
import { erc3009DepositCollectorDeployedBytecode } from './artifacts/erc3009DepositCollector.ts';
import { multicall3Bytecode } from './artifacts/multicall3.ts';
import { usdcAbi, usdcBytecode } from './artifacts/usdc.ts';
import { devnetChain } from './chain.ts';
import {
  BATCH_SETTLEMENT_ADDRESS,
  DEVNET_CHAIN_ID,
  DEVNET_MNEMONIC,
  ERC3009_DEPOSIT_COLLECTOR_ADDRESS,
  INITIAL_FUNDING,
  MULTICALL3_ADDRESS,
  USDC_ADDRESS,
} from './constants.ts';
import { createDevnetClient, type DevnetClient } from './devnet-client.ts';
import { DevnetError } from './errors.ts';
import { startExplorer } from './explorer/start-explorer.ts';
import { prepareStateFile } from './state-file.ts';

export interface StartDevnetOptions {
  /** State lives in `<dataDir>/devnet/`. Omitted: a temporary directory, deleted on stop. */
  dataDir?: string;
  /** JSON-RPC port; 0 (the default) picks a free one. The CLI uses 8545. */
  port?: number;
  host?: string;
  /** Explorer port (0 = free port); false (the default) starts no explorer. */
  explorerPort?: number | false;
  /** Seconds between state dumps; a kill -9 loses at most this much. Default 1. */
  stateIntervalSeconds?: number;
  /** No log lines at all. */
  quiet?: boolean;
  /** Where log lines go (default console.log). */
  log?: (line: string) => void;
  /** Forward anvil's own output (every RPC call) to `log`. */
  verbose?: boolean;
}

export interface Devnet extends DevnetClient {
  /** Explorer base URL, when started with `explorerPort`. */
  explorerUrl?: string;
  /** Directory holding anvil's state (`state.json`). */
  stateDir: string;
  /** True when this start found no saved state and deployed and funded everything. */
  initialised: boolean;
  /** Milliseconds from spawning anvil to ready (funded, USDC in place). */
  startMs: number;
  /** Process id of anvil (for diagnostics and the crash-recovery test). */
  anvilPid: number | undefined;
  /** Stops the explorer and anvil; anvil dumps its state on the way out. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts anvil as a local Base Sepolia stand-in (chain id 84532, automine) with our EIP-3009 USDC
 * at Base Sepolia's USDC address and Multicall3 at its canonical address, funded per
 * docs/CONVENTIONS.md. State persists in `<dataDir>/devnet/`, so a restart keeps balances.
 *
 * @example
 * const devnet = await startDevnet({ port: 0, dataDir: '.data' });
 * await devnet.mintUsdc(devnet.accounts.agent.address, 5_000_000n);
 * await devnet.stop();
 */
export async function startDevnet(options: StartDevnetOptions = {}): Promise<Devnet> {
  const started = performance.now();
  const {
    port = 0,
    host = '127.0.0.1',
    explorerPort = false,
    stateIntervalSeconds = 1,
    quiet = false,
  } = options;
  const log = quiet ? () => {} : (options.log ?? ((line: string) => console.log(line)));
  const tempDir = options.dataDir === undefined ? mkdtempSync(join(tmpdir(), 'devnet-')) : undefined;
  const stateDir = join(options.dataDir ?? tempDir ?? '', 'devnet');
  mkdirSync(stateDir, { recursive: true });
  const stateFiles = prepareStateFile(stateDir, log);

  let anvil: AnvilProcess;
  try {
    anvil = await spawnAnvil({
      host,
      port,
      args: [
        '--chain-id',
        String(DEVNET_CHAIN_ID),
        '--mnemonic',
        DEVNET_MNEMONIC,
        '--state',
        stateFiles.state,
        '--state-interval',
        String(stateIntervalSeconds),
      ],
      onOutput: options.verbose ? (line) => log(`[anvil] ${line}`) : undefined,
    });
  } catch (error) {
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
    throw error;
  }
  // Bound to every interface (0.0.0.0 / ::): talk to it over loopback, and say that it is exposed.
  const wildcard = anvil.host === '0.0.0.0' || anvil.host === '::' || anvil.host === '[::]';
  if (wildcard) log(`devnet: WARNING anvil listens on ${anvil.host}; its accounts are public and unlocked`);
  const rpcUrl = `http://${wildcard ? '127.0.0.1' : anvil.host}:${anvil.port}`;
  let explorer: { url: string; stop(): Promise<void> } | undefined;
  let stopped = false;
  anvil.child.once('exit', (code, signal) => {
    if (!stopped)
      log(
        `devnet: anvil exited unexpectedly (${signal ?? `code ${code}`}); state up to the last dump is in ${stateDir}`,
      );
  });
  // A temporary data dir must not outlive this process even when stop() is never called.
  const removeTempDir = (): void => {
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
  };
  if (tempDir) process.once('exit', removeTempDir);
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await explorer?.stop();
    await anvil.stop();
    removeTempDir();
    process.off('exit', removeTempDir);
  };

  try {
    await waitForRpc(rpcUrl, 10_000);
    const client = createDevnetClient({ rpcUrl });
    const initialised = !(await hasCode(client, USDC_ADDRESS));
    if (initialised) await initialiseChain(client);
    await installChannelContracts(client);
    if (explorerPort !== false) explorer = await startExplorer({ rpcUrl, port: explorerPort, host });
    const startMs = Math.round(performance.now() - started);
    log(
      `devnet ready in ${startMs} ms at ${rpcUrl} (chain id ${DEVNET_CHAIN_ID}, USDC ${USDC_ADDRESS}, ${initialised ? 'fresh chain' : `state restored from ${stateDir}`})`,
    );
    return {
      ...client,
      explorerUrl: explorer?.url,
      stateDir,
      initialised,
      startMs,
      anvilPid: anvil.child.pid,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Polls eth_chainId every 25 ms until anvil answers. */
async function waitForRpc(rpcUrl: string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      const response = await fetch(rpcUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
      });
      if (response.ok) {
        const body = (await response.json()) as { result?: unknown };
        if (body.result === `0x${DEVNET_CHAIN_ID.toString(16)}`) return;
      }
    } catch {
      // not listening yet
    }
    if (performance.now() > deadline) {
      throw new DevnetError(
        'anvil_start_timeout',
        `devnet: ${rpcUrl} did not answer eth_chainId within ${timeoutMs} ms`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function hasCode(client: DevnetClient, address: Address): Promise<boolean> {
  const code = await client.publicClient.getCode({ address });
  return code !== undefined && code !== '0x';
}

async function anvilRequest(client: DevnetClient, method: string, params: unknown[]): Promise<unknown> {
  return client.publicClient.request({ method: method as never, params: params as never });
}

/**
 * Deploys a contract from the deployer, then moves its runtime code to `target` with anvil_setCode
 * (so immutables, if any, hold deploy-time values) and copies the given storage slots the
 * constructor wrote. The temporary deployment is cleared afterwards.
 */
async function placeAt(client: DevnetClient, bytecode: Hex, target: Address, slots: bigint[]): Promise<void> {
  const wallet = createWalletClient({ chain: devnetChain(client.rpcUrl), transport: http(client.rpcUrl) });
  const hash: Hash = await wallet.sendTransaction({
    account: DEVNET_ACCOUNTS.deployer.address,
    data: bytecode,
  });
  const receipt = await client.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 20 });
  const deployed = receipt.contractAddress;
  if (receipt.status !== 'success' || !deployed) {
    throw new DevnetError(
      'devnet_setup_failed',
      `devnet: deploying the contract for ${target} failed (${hash})`,
    );
  }
  const code = await client.publicClient.getCode({ address: deployed });
  if (!code || code === '0x')
    throw new DevnetError('devnet_setup_failed', `devnet: no runtime code at ${deployed}`);
  await anvilRequest(client, 'anvil_setCode', [target, code]);
  for (const slot of slots) {
    const value = await client.publicClient.getStorageAt({
      address: deployed,
      slot: pad(`0x${slot.toString(16)}`),
    });
    await anvilRequest(client, 'anvil_setStorageAt', [
      target,
      pad(`0x${slot.toString(16)}`),
      value ?? pad('0x0'),
    ]);
  }
  await anvilRequest(client, 'anvil_setCode', [deployed, '0x']);
}

/**
 * Every start (fresh chain or restored state): the batch-settlement channel contract and its ERC-3009
 * deposit collector at the addresses `@x402/evm` uses. Neither has a constructor, an immutable or
 * constructor-set storage, so the compiled runtime code is placed as is; it is replaced when it
 * differs from the committed artifact (a state file from before the contracts existed, or an edited
 * contract), and channel storage is kept.
 */
async function installChannelContracts(client: DevnetClient): Promise<void> {
  const contracts: [Address, Hex][] = [
    [BATCH_SETTLEMENT_ADDRESS, batchSettlementDeployedBytecode],
    [ERC3009_DEPOSIT_COLLECTOR_ADDRESS, erc3009DepositCollectorDeployedBytecode],
  ];
  for (const [address, code] of contracts) {
    const current = await client.publicClient.getCode({ address });
    if (current?.toLowerCase() !== code.toLowerCase())
      await anvilRequest(client, 'anvil_setCode', [address, code]);
  }
}

/** First start only: contracts at their canonical addresses and the funding of docs/CONVENTIONS.md. */
async function initialiseChain(client: DevnetClient): Promise<void> {
  const { agent, seller, deployer } = client.accounts;
  // USDC's constructor sets only `owner` (slot 0); name, version and decimals are constants and the
  // EIP-712 domain separator is computed per call from block.chainid and address(this).
  await placeAt(client, usdcBytecode, USDC_ADDRESS, [0n]);
  const owner = await client.publicClient.readContract({
    address: USDC_ADDRESS,
    abi: usdcAbi,
    functionName: 'owner',
  });
  if (owner !== deployer.address) {
    throw new DevnetError(
      'devnet_setup_failed',
      `devnet: USDC owner is ${owner}, expected ${deployer.address}`,
    );
  }
  // Multicall3-compatible batcher (contracts/Multicall3.sol): viem and @x402/evm call it there.
  if (!(await hasCode(client, MULTICALL3_ADDRESS)))
    await placeAt(client, multicall3Bytecode, MULTICALL3_ADDRESS, []);
  await client.mintUsdc(agent.address, INITIAL_FUNDING.agentUsdc);
  await anvilRequest(client, 'anvil_setBalance', [
    agent.address,
    `0x${INITIAL_FUNDING.agentEth.toString(16)}`,
  ]);
  await anvilRequest(client, 'anvil_setBalance', [
    seller.address,
    `0x${INITIAL_FUNDING.sellerEth.toString(16)}`,
  ]);
}
