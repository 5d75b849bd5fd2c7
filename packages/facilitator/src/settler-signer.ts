import { createKeepAliveFetch } from '@agentic-payments/x402';
import type { FacilitatorEvmSigner } from '@x402/evm';
import {
  type Abi,
  type Address,
  type Chain,
  concatHex,
  createPublicClient,
  encodeFunctionData,
  type Hex,
  type PrivateKeyAccount,
  type PublicClient,
  RpcRequestError,
  type Transport,
  verifyTypedData,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { getHttpRpcClient } from 'viem/utils';
import { z } from 'zod';
import { batchTransport } from './batch-transport.ts';
import { NonceAllocator } from './nonce-allocator.ts';
import { ReceiptPoller, ReceiptTimeoutError } from './receipt-poller.ts';
import { SendLane } from './send-lane.ts';
import { SettlementGateClosedError, settlementTrace } from './settlement-trace.ts';
import { createTransactionSigner } from './transaction-signer.ts';

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
   * Broadcast with `eth_sendRawTransactionSync` (EIP-7966), one transaction at a time per settler:
   * the node answers with the receipt once the block is mined, and the next transaction leaves
   * only then. For an automining devnet (anvil), where it is also required: a transaction that
   * reaches anvil 1.7 while the sender's previous one is being mined can land in the queued pool
   * for good (seen here under CPU load: nonce N queued while the chain's next nonce was N, every
   * later settlement stuck). Elsewhere leave it off: transactions go out batched with
   * `eth_sendRawTransaction` and receipts are polled.
   */
  syncSend?: boolean;
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
  /** `eth_estimateGas` for a call from the first settler (for transactions of unknown size). */
  estimateGas(args: { to: Address; data: Hex }): Promise<bigint>;
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
  lane: SendLane;
}

/**
 * EIP-7966 answers code 4 when the transaction was accepted but not included in time; anvil 1.7
 * answers -32603 "Transaction confirmation timeout".
 */
function isSyncSendTimeout(error: { code: number; message?: string }): boolean {
  return error.code === 4 || /confirmation timeout/i.test(error.message ?? '');
}

/** Most transactions per broadcast batch (one JSON-RPC request). */
const MAX_PER_FLIGHT = 100;

/**
 * A `FacilitatorEvmSigner` over viem with deliberate nonce management, bounded and fast receipt
 * waits and few RPC round trips per settlement: transactions are signed locally with a locally
 * allocated nonce and broadcast per settler in nonce order, batched (see `SendLane`); concurrent
 * reads share one HTTP request (JSON-RPC batching over a keep-alive connection).
 *
 * @example
 * const signer = createSettlerSigner({ rpcUrl, chain: baseSepolia, privateKeys: [key],
 *   receiptTimeoutMs: 10_000, pollingIntervalMs: 20, gasLimit: 200_000n });
 */
export function createSettlerSigner(options: SettlerSignerOptions): SettlerSigner {
  if (options.privateKeys.length === 0) throw new Error('at least one settler key is required');
  const stats = { httpRequests: 0, transactionsSent: 0 };
  const onFetchRequest = () => {
    stats.httpRequests += 1;
  };
  // Reads made side by side share one HTTP request, without viem's batch timer (see batchTransport);
  // receipt polls go through the same transport, so a tick asks for every pending receipt at once.
  // Keep-alive node:http instead of the global fetch: about 0.25 ms less per call (see createKeepAliveFetch).
  const fetchFn = createKeepAliveFetch();
  const publicClient = createPublicClient({
    chain: options.chain,
    transport: batchTransport(options.rpcUrl, { onRequest: onFetchRequest, fetchFn }),
  });
  const rpc = (method: string, params: readonly unknown[]): Promise<unknown> =>
    // biome-ignore lint/suspicious/noExplicitAny: raw JSON-RPC passthrough; replies are parsed by callers
    publicClient.request({ method, params } as any);

  // A broadcast flight is exactly one HTTP request: a JSON-RPC batch of sends in nonce order.
  const sendMethod = options.syncSend ? 'eth_sendRawTransactionSync' : 'eth_sendRawTransaction';
  const sendRpc = getHttpRpcClient(options.rpcUrl, { fetchFn });
  const broadcast = async (raws: readonly Hex[]): Promise<PromiseSettledResult<unknown>[]> => {
    const body = raws.map((raw, id) => ({ jsonrpc: '2.0' as const, id, method: sendMethod, params: [raw] }));
    stats.httpRequests += 1;
    const replies = await sendRpc.request({ body });
    const byId = new Map(replies.map((reply) => [reply.id, reply]));
    return body.map((call): PromiseSettledResult<unknown> => {
      const reply = byId.get(call.id);
      if (reply === undefined) {
        return { status: 'rejected', reason: new Error(`no answer for ${call.method} in the batch`) };
      }
      if (reply.error === undefined) {
        // A plain send answers the hash: no receipt yet.
        return { status: 'fulfilled', value: options.syncSend ? reply.result : null };
      }
      // Accepted, but not mined within the node's wait: the receipt is polled like any other.
      if (options.syncSend && isSyncSendTimeout(reply.error)) return { status: 'fulfilled', value: null };
      return {
        status: 'rejected',
        reason: new RpcRequestError({ body: call, error: reply.error, url: options.rpcUrl }),
      };
    });
  };

  const settlers: Settler[] = options.privateKeys.map((key) => {
    const account = privateKeyToAccount(key);
    const nonces = new NonceAllocator(async () => {
      const count = hexString.parse(await rpc('eth_getTransactionCount', [account.address, 'pending']));
      return Number(BigInt(count));
    });
    const lane = new SendLane({
      sign: createTransactionSigner(key),
      chainId: options.chain.id,
      nonces,
      broadcast,
      maxPerFlight: options.syncSend ? 1 : MAX_PER_FLIGHT,
    });
    return { account, nonces, lane };
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
    const gate = settlementTrace.getStore()?.gate;
    if (gate !== undefined && !(await gate)) throw new SettlementGateClosedError();
    const settler = settlers[nextSettler % settlers.length];
    nextSettler += 1;
    if (!settler) throw new Error('no settler account');
    const [feeData, gasLimit] = await Promise.all([
      currentFees(),
      gas ?? options.gasLimit ?? publicClient.estimateGas({ account: settler.account.address, to, data }),
    ]);
    const { hash, result } = await settler.lane.send({ to, data, gas: gasLimit, ...feeData });
    poller.offer(hash, result);
    stats.transactionsSent += 1;
    settlementTrace.getStore()?.sent.push(hash);
    return hash;
  };

  return {
    publicClient,
    estimateGas: ({ to, data }) =>
      publicClient.estimateGas({ account: settlers[0]?.account.address, to, data }),
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
    // Answers undefined (no code) when the RPC fails instead of rejecting: the official scheme
    // starts an asset-code check it abandons on an early return, and a rejection there would be
    // unhandled. Nothing is lost: the facilitator's pre-check sees the RPC fault in its own reads
    // and no settlement is broadcast before that check passed.
    getCode: (args) => getCode(args.address).catch(() => undefined),
    stats: () => ({
      httpRequests: stats.httpRequests,
      transactionsSent: stats.transactionsSent,
      nonceResyncs: settlers.reduce((sum, s) => sum + s.nonces.resyncs, 0),
      receiptPolls: poller.polls,
    }),
    close: () => poller.stop(),
  };
}
