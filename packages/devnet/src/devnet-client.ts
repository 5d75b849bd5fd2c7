import { randomInt } from 'node:crypto';
import { isLoopbackRpcUrl } from '@agentic-payments/x402';
import {
  type Address,
  type Chain,
  createPublicClient,
  createWalletClient,
  type Hash,
  http,
  type PublicClient,
  type Transport,
} from 'viem';
import { DEVNET_ACCOUNTS, type DevnetAccount, type DevnetAccounts, deriveDevnetAccount } from './accounts.ts';
import { usdcAbi } from './artifacts/usdc.ts';
import { devnetChain } from './chain.ts';
import { DEVNET_CHAIN_ID, FIRST_PAYER_INDEX, USDC_ADDRESS } from './constants.ts';
import { DevnetError } from './errors.ts';

/** Chain-side helpers shared by `startDevnet()` and `connectDevnet()`. DEVNET ONLY. */
export interface DevnetClient {
  rpcUrl: string;
  chainId: typeof DEVNET_CHAIN_ID;
  usdcAddress: Address;
  accounts: DevnetAccounts;
  publicClient: PublicClient<Transport, Chain>;
  /** Extra accounts for tests and benchmarks: HD index `firstPayerIndex + i` (10 + i in `startDevnet`). */
  payer(i: number): DevnetAccount;
  /** Derives the next `n` unused payers and gives each `usdcEach` atomic USDC and `ethEach` wei. */
  fundPayers(n: number, usdcEach: bigint, ethEach?: bigint): Promise<DevnetAccount[]>;
  /** Mints `amount` atomic USDC (6 decimals) to `to`, waits for the receipt, returns the tx hash. */
  mintUsdc(to: Address, amount: bigint): Promise<Hash>;
  /** Adds `amount` wei to `to` (anvil_setBalance, no transaction). */
  addEth(to: Address, amount: bigint): Promise<void>;
  usdcBalance(address: Address): Promise<bigint>;
  ethBalance(address: Address): Promise<bigint>;
}

export interface CreateDevnetClientParameters {
  rpcUrl: string;
  /** HD index of `payer(0)`. */
  firstPayerIndex?: number;
}

/** Refuses anything that is not a loopback RPC: the devnet's keys are public. */
export function assertLoopbackRpc(rpcUrl: string): void {
  if (!isLoopbackRpcUrl(rpcUrl)) {
    throw new DevnetError('not_a_devnet', 'devnet: refusing a non-loopback RPC (devnet keys are public)');
  }
}

const queues = new Map<string, Promise<unknown>>();

/** Runs `task` after every earlier task for the same key has settled (a per-process FIFO). */
function serialised<T>(key: string, task: () => Promise<T>): Promise<T> {
  const result = (queues.get(key) ?? Promise.resolve()).then(task, task);
  const tail = result.catch(() => undefined);
  queues.set(key, tail);
  void tail.then(() => {
    if (queues.get(key) === tail) queues.delete(key);
  });
  return result;
}

const NONCE_CLASH =
  /nonce too low|nonce.*lower than the current|already known|replacement transaction underpriced/i;

async function retryOnNonceClash<T>(send: () => Promise<T>, attempts = 8): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await send();
    } catch (error) {
      const text =
        error instanceof Error ? `${error.message} ${String((error as { details?: unknown }).details)}` : '';
      if (attempt >= attempts || !NONCE_CLASH.test(text)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.floor(Math.random() * 20) * attempt));
    }
  }
}

export function createDevnetClient({
  rpcUrl,
  firstPayerIndex = FIRST_PAYER_INDEX,
}: CreateDevnetClientParameters): DevnetClient {
  assertLoopbackRpc(rpcUrl);
  const chain = devnetChain(rpcUrl);
  const transport = http(rpcUrl, { batch: false, retryCount: 0 });
  // Automine mines every transaction at once, so receipts are there on the first short poll.
  const publicClient = createPublicClient({ chain, transport, pollingInterval: 20 });
  const wallet = createWalletClient({ chain, transport, pollingInterval: 20 });
  let nextPayer = 0;

  const payer = (i: number): DevnetAccount => {
    if (!Number.isSafeInteger(i) || i < 0) throw new RangeError(`payer index must be >= 0, got ${i}`);
    return deriveDevnetAccount(firstPayerIndex + i);
  };

  // Sent from anvil's unlocked deployer account (eth_sendTransaction, anvil signs). anvil's nonce
  // assignment races under concurrent sends, so sends are serialised per RPC in this process and
  // retried on a nonce clash with another process.
  const sendMint = (to: Address, amount: bigint): Promise<Hash> =>
    serialised(rpcUrl, () =>
      retryOnNonceClash(() =>
        wallet.writeContract({
          account: DEVNET_ACCOUNTS.deployer.address,
          address: USDC_ADDRESS,
          abi: usdcAbi,
          functionName: 'mint',
          args: [to, amount],
        }),
      ),
    );

  const waitOk = async (hash: Hash, what: string): Promise<void> => {
    const receipt = await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 20 });
    if (receipt.status !== 'success')
      throw new DevnetError('devnet_setup_failed', `devnet: ${what} reverted (${hash})`);
  };

  const mintUsdc = async (to: Address, amount: bigint): Promise<Hash> => {
    if (amount <= 0n) throw new RangeError('mint amount must be positive atomic USDC');
    const hash = await sendMint(to, amount);
    await waitOk(hash, `mint to ${to}`);
    return hash;
  };

  const addEth = async (to: Address, amount: bigint): Promise<void> => {
    if (amount < 0n) throw new RangeError('ETH amount must not be negative');
    if (amount === 0n) return;
    const balance = await publicClient.getBalance({ address: to });
    await publicClient.request({
      method: 'anvil_setBalance' as never,
      params: [to, `0x${(balance + amount).toString(16)}`] as never,
    });
  };

  const fundPayers = async (n: number, usdcEach: bigint, ethEach = 0n): Promise<DevnetAccount[]> => {
    if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`fundPayers needs n >= 1, got ${n}`);
    if (usdcEach < 0n || ethEach < 0n) throw new RangeError('fundPayers amounts must not be negative');
    const payers = Array.from({ length: n }, () => payer(nextPayer++));
    if (usdcEach > 0n) {
      const hashes: Hash[] = [];
      for (const p of payers) hashes.push(await sendMint(p.address, usdcEach));
      await Promise.all(hashes.map((hash) => waitOk(hash, 'payer mint')));
    }
    for (const p of payers) await addEth(p.address, ethEach);
    return payers;
  };

  return {
    rpcUrl,
    chainId: DEVNET_CHAIN_ID,
    usdcAddress: USDC_ADDRESS,
    accounts: DEVNET_ACCOUNTS,
    publicClient,
    payer,
    fundPayers,
    mintUsdc,
    addEth,
    usdcBalance: (address) =>
      publicClient.readContract({
        address: USDC_ADDRESS,
        abi: usdcAbi,
        functionName: 'balanceOf',
        args: [address],
      }),
    ethBalance: (address) => publicClient.getBalance({ address }),
  };
}

/**
 * Connects to a running devnet (for example the one a vitest globalSetup provides) from another
 * process. Payers start at a random HD index so parallel test files never share one.
 *
 * @example
 * const devnet = connectDevnet(inject('devnet'));
 * const [payer] = await devnet.fundPayers(1, 1_000_000n);
 */
export function connectDevnet({ rpcUrl }: { rpcUrl: string }): DevnetClient {
  return createDevnetClient({
    rpcUrl,
    firstPayerIndex: FIRST_PAYER_INDEX + 1_000 + randomInt(1_000_000) * 100,
  });
}
