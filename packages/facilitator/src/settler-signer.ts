import type { FacilitatorEvmSigner } from '@x402/evm';
import {
  type Abi,
  type Address,
  type Chain,
  concatHex,
  createPublicClient,
  encodeFunctionData,
  type Hex,
  http,
  keccak256,
  type PrivateKeyAccount,
  type PublicClient,
  type Transport,
  verifyTypedData,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { z } from 'zod';
import { isNonceError, NonceAllocator } from './nonce-allocator.ts';
import { ReceiptPoller, ReceiptTimeoutError } from './receipt-poller.ts';
import { settlementTrace } from './settlement-trace.ts';

export interface SettlerSignerOptions {
  rpcUrl: string;
  chain: Chain;
  /** One or more settler keys; transactions go round-robin across them, each with its own nonce. */
  privateKeys: readonly Hex[];
  /** Upper bound on every receipt wait. */
  receiptTimeoutMs: number;
  /** Interval between receipt polls (each poll asks for every pending receipt in one batch). */
  pollingIntervalMs: number;
  /**
   * Fixed gas limit for settlement transactions. Saves the `eth_estimateGas` round trip; the
   * official scheme already checked the authorization before it asks for a write. Unset: estimate.
   */
  gasLimit?: bigint;
  /** How long fee data (base fee, priority fee) is reused. */
  feeCacheMs?: number;
  /** How long a payer's `eth_getCode` answer is reused (the official scheme asks twice per settle). */
  codeCacheMs?: number;
  /**
   * Ask for the receipt in the same JSON-RPC batch as `eth_sendRawTransaction` (the hash is known
   * before sending). On an automining devnet the receipt is usually already there, which saves the
   * poll round trip; elsewhere it costs one extra call in a request that is made anyway.
   */
  eagerReceipt?: boolean;
}

export interface SettlerStats {
  /** HTTP requests sent to the RPC (one JSON-RPC batch counts once). */
  httpRequests: number;
  transactionsSent: number;
  nonceResyncs: number;
  receiptPolls: number;
}

export interface SettlerSigner extends FacilitatorEvmSigner {
  readonly publicClient: PublicClient<Transport, Chain>;
  stats(): SettlerStats;
  /** Fails the pending receipt waits and stops polling. */
  close(): void;
}

const feeReply = z.object({
  block: z.object({ baseFeePerGas: z.string().nullish() }),
  tip: z.string(),
});

const hexString = z.string().regex(/^0x[0-9a-fA-F]*$/);

interface Fees {
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}

interface Settler {
  account: PrivateKeyAccount;
  nonces: NonceAllocator;
}

const MAX_SEND_ATTEMPTS = 4;

/**
 * A `FacilitatorEvmSigner` over viem with deliberate nonce management, bounded and fast receipt
 * waits and few RPC round trips per settlement: transactions are signed locally with a locally
 * allocated nonce and sent with `eth_sendRawTransaction`; concurrent reads share one HTTP
 * request (JSON-RPC batching over a keep-alive connection).
 *
 * @example
 * const signer = createSettlerSigner({ rpcUrl, chain: baseSepolia, privateKeys: [key],
 *   receiptTimeoutMs: 10_000, pollingIntervalMs: 20, gasLimit: 200_000n });
 */
export function createSettlerSigner(options: SettlerSignerOptions): SettlerSigner {
  if (options.privateKeys.length === 0) throw new Error('at least one settler key is required');
  const stats = { httpRequests: 0, transactionsSent: 0 };
  const publicClient = createPublicClient({
    chain: options.chain,
    // wait: 0 merges the calls made in one macrotask into one JSON-RPC batch.
    transport: http(options.rpcUrl, {
      batch: { wait: 0, batchSize: 200 },
      retryCount: 0,
      onFetchRequest: () => {
        stats.httpRequests += 1;
      },
    }),
  });
  const rpc = (method: string, params: readonly unknown[]): Promise<unknown> =>
    // biome-ignore lint/suspicious/noExplicitAny: raw JSON-RPC passthrough; replies are parsed by callers
    publicClient.request({ method, params } as any);

  const settlers: Settler[] = options.privateKeys.map((key) => {
    const account = privateKeyToAccount(key);
    const nonces = new NonceAllocator(async () => {
      const count = hexString.parse(await rpc('eth_getTransactionCount', [account.address, 'pending']));
      return Number(BigInt(count));
    });
    return { account, nonces };
  });
  let nextSettler = 0;
  const poller = new ReceiptPoller(rpc, options.pollingIntervalMs);

  const feeCacheMs = options.feeCacheMs ?? 2_000;
  let fees: { value: Fees; at: number } | undefined;
  let feesInFlight: Promise<Fees> | undefined;
  const currentFees = async (): Promise<Fees> => {
    if (fees && Date.now() - fees.at < feeCacheMs) return fees.value;
    feesInFlight ??= (async () => {
      try {
        const [block, tip] = await Promise.all([
          rpc('eth_getBlockByNumber', ['latest', false]),
          rpc('eth_maxPriorityFeePerGas', []),
        ]);
        const parsed = feeReply.parse({ block, tip });
        const baseFee = BigInt(parsed.block.baseFeePerGas ?? '0x0');
        const maxPriorityFeePerGas = BigInt(parsed.tip);
        // Twice the base fee: room for six full blocks of base-fee growth while the fee is cached.
        const value = { maxFeePerGas: baseFee * 2n + maxPriorityFeePerGas, maxPriorityFeePerGas };
        fees = { value, at: Date.now() };
        return value;
      } finally {
        feesInFlight = undefined;
      }
    })();
    return feesInFlight;
  };

  const codeCacheMs = options.codeCacheMs ?? 1_000;
  const codeCache = new Map<string, { code: Promise<Hex | undefined>; at: number }>();
  const getCode = (address: Address): Promise<Hex | undefined> => {
    const key = address.toLowerCase();
    const now = Date.now();
    const hit = codeCache.get(key);
    if (hit && now - hit.at < codeCacheMs) return hit.code;
    if (codeCache.size > 10_000) codeCache.clear();
    const code = publicClient.getCode({ address });
    codeCache.set(key, { code, at: now });
    code.catch(() => codeCache.delete(key));
    return code;
  };

  const send = async (to: Address, data: Hex, gas: bigint | undefined): Promise<Hex> => {
    const settler = settlers[nextSettler % settlers.length];
    nextSettler += 1;
    if (!settler) throw new Error('no settler account');
    const [feeData, gasLimit] = await Promise.all([
      currentFees(),
      gas ?? options.gasLimit ?? publicClient.estimateGas({ account: settler.account.address, to, data }),
    ]);
    let lastError: unknown;
    for (let attempt = 0; attempt < MAX_SEND_ATTEMPTS; attempt++) {
      const nonce = await settler.nonces.allocate();
      const raw = await settler.account.signTransaction({
        type: 'eip1559',
        chainId: options.chain.id,
        to,
        data,
        nonce,
        gas: gasLimit,
        value: 0n,
        ...feeData,
      });
      const hash = keccak256(raw);
      try {
        const [sent, receipt] = await Promise.allSettled([
          rpc('eth_sendRawTransaction', [raw]),
          options.eagerReceipt ? rpc('eth_getTransactionReceipt', [hash]) : Promise.resolve(null),
        ]);
        if (sent.status === 'rejected') throw sent.reason;
        if (receipt.status === 'fulfilled') poller.offer(hash, receipt.value);
        stats.transactionsSent += 1;
        settlementTrace.getStore()?.sent.push(hash);
        return hash;
      } catch (error) {
        lastError = error;
        // Either way the local counter may now be wrong (a gap, or the chain is ahead): re-read it.
        settler.nonces.resync();
        if (!isNonceError(error)) throw error;
      }
    }
    throw lastError;
  };

  return {
    publicClient,
    getAddresses: () => settlers.map((s) => s.account.address),
    readContract: (args) =>
      publicClient.readContract({
        address: args.address,
        abi: args.abi as Abi,
        functionName: args.functionName,
        args: args.args,
      }),
    // Local ECDSA recovery: no RPC. The official exact scheme checks signatures itself (with
    // ERC-1271 for contract wallets); this method exists for the interface.
    verifyTypedData: (args) =>
      verifyTypedData({
        address: args.address,
        domain: args.domain,
        types: args.types,
        primaryType: args.primaryType,
        message: args.message,
        signature: args.signature,
      } as Parameters<typeof verifyTypedData>[0]),
    writeContract: (args) => {
      const encoded = encodeFunctionData({
        abi: args.abi as Abi,
        functionName: args.functionName,
        args: args.args,
      });
      const data = args.dataSuffix ? concatHex([encoded, args.dataSuffix]) : encoded;
      return send(args.address, data, args.gas);
    },
    sendTransaction: (args) => send(args.to, args.data, undefined),
    waitForTransactionReceipt: async (args) => {
      const timeoutMs = Math.min(args.timeout ?? options.receiptTimeoutMs, options.receiptTimeoutMs);
      try {
        return await poller.wait(args.hash, timeoutMs);
      } catch (error) {
        const trace = settlementTrace.getStore();
        if (error instanceof ReceiptTimeoutError && trace) trace.pending = args.hash;
        throw error;
      }
    },
    getCode: (args) => getCode(args.address),
    stats: () => ({
      httpRequests: stats.httpRequests,
      transactionsSent: stats.transactionsSent,
      nonceResyncs: settlers.reduce((sum, s) => sum + s.nonces.resyncs, 0),
      receiptPolls: poller.polls,
    }),
    close: () => poller.stop(),
  };
}
