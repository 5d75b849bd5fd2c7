import { formatUsdc } from '@agentic-payments/x402';
import {
  type Address,
  type Chain,
  decodeEventLog,
  decodeFunctionData,
  formatEther,
  getAddress,
  type Hash,
  type Hex,
  type Log,
  type PublicClient,
  type Transport,
} from 'viem';
import { usdcAbi } from '../artifacts/usdc.ts';

/** A USDC Transfer event, amounts as atomic bigint plus the decimal string for display. */
export interface UsdcTransfer {
  from: Address;
  to: Address;
  atomic: bigint;
  amount: string;
  transactionHash?: Hash;
  blockNumber?: bigint;
}

/** An EIP-3009 AuthorizationUsed / AuthorizationCanceled event. */
export interface AuthorizationEvent {
  kind: 'used' | 'canceled';
  authorizer: Address;
  nonce: Hex;
}

export interface TxDetails {
  hash: Hash;
  status: 'success' | 'reverted' | 'pending';
  blockNumber: bigint | null;
  timestamp: bigint | null;
  from: Address;
  to: Address | null;
  contractAddress: Address | null;
  valueWei: bigint;
  gasUsed: bigint | null;
  effectiveGasPrice: bigint | null;
  /** Decoded USDC function name when the tx called the USDC contract. */
  usdcFunction: string | null;
  usdcTransfers: UsdcTransfer[];
  authorizations: AuthorizationEvent[];
  logCount: number;
}

type Client = PublicClient<Transport, Chain | undefined>;

export const formatUsdcAmount = (atomic: bigint): string => formatUsdc(atomic, { fixed: true });
export const formatEth = (wei: bigint): string => formatEther(wei);

function decodeUsdcLogs(logs: readonly Log[], usdcAddress: Address) {
  const usdcTransfers: UsdcTransfer[] = [];
  const authorizations: AuthorizationEvent[] = [];
  for (const log of logs) {
    if (log.address.toLowerCase() !== usdcAddress.toLowerCase()) continue;
    try {
      const event = decodeEventLog({ abi: usdcAbi, data: log.data, topics: log.topics });
      if (event.eventName === 'Transfer') {
        usdcTransfers.push({
          from: event.args.from,
          to: event.args.to,
          atomic: event.args.value,
          amount: formatUsdcAmount(event.args.value),
          transactionHash: log.transactionHash ?? undefined,
          blockNumber: log.blockNumber ?? undefined,
        });
      } else if (event.eventName === 'AuthorizationUsed' || event.eventName === 'AuthorizationCanceled') {
        authorizations.push({
          kind: event.eventName === 'AuthorizationUsed' ? 'used' : 'canceled',
          authorizer: event.args.authorizer,
          nonce: event.args.nonce,
        });
      }
    } catch {
      // an event this explorer does not know: counted, not decoded
    }
  }
  return { usdcTransfers, authorizations };
}

/** Everything the tx page shows, or null when the node knows no such transaction. */
export async function getTxDetails(
  client: Client,
  usdcAddress: Address,
  hash: Hash,
): Promise<TxDetails | null> {
  const tx = await client.getTransaction({ hash }).catch((error: unknown) => {
    if (error instanceof Error && error.name === 'TransactionNotFoundError') return null;
    throw error;
  });
  if (!tx) return null;
  const receipt = await client.getTransactionReceipt({ hash }).catch(() => null);
  const block = tx.blockNumber !== null ? await client.getBlock({ blockNumber: tx.blockNumber }) : null;
  let usdcFunction: string | null = null;
  if (tx.to && tx.to.toLowerCase() === usdcAddress.toLowerCase()) {
    try {
      usdcFunction = decodeFunctionData({ abi: usdcAbi, data: tx.input }).functionName;
    } catch {
      usdcFunction = null;
    }
  }
  const logs = receipt?.logs ?? [];
  return {
    hash,
    status: receipt ? receipt.status : 'pending',
    blockNumber: tx.blockNumber,
    timestamp: block?.timestamp ?? null,
    from: getAddress(tx.from),
    to: tx.to ? getAddress(tx.to) : null,
    contractAddress: receipt?.contractAddress ? getAddress(receipt.contractAddress) : null,
    valueWei: tx.value,
    gasUsed: receipt?.gasUsed ?? null,
    effectiveGasPrice: receipt?.effectiveGasPrice ?? null,
    usdcFunction,
    ...decodeUsdcLogs(logs, usdcAddress),
    logCount: logs.length,
  };
}

export interface AddressDetails {
  address: Address;
  ethWei: bigint;
  usdcAtomic: bigint;
  isContract: boolean;
  transfers: UsdcTransfer[];
}

const transferEvent = usdcAbi.find((item) => item.type === 'event' && item.name === 'Transfer');

/** Balances and the most recent USDC transfers in or out of `address`. */
export async function getAddressDetails(
  client: Client,
  usdcAddress: Address,
  address: Address,
  limit = 25,
): Promise<AddressDetails> {
  if (transferEvent?.type !== 'event') throw new Error('USDC ABI has no Transfer event');
  const [ethWei, usdcAtomic, code, sent, received] = await Promise.all([
    client.getBalance({ address }),
    client.readContract({ address: usdcAddress, abi: usdcAbi, functionName: 'balanceOf', args: [address] }),
    client.getCode({ address }),
    client.getLogs({ address: usdcAddress, event: transferEvent, args: { from: address }, fromBlock: 0n }),
    client.getLogs({ address: usdcAddress, event: transferEvent, args: { to: address }, fromBlock: 0n }),
  ]);
  const seen = new Set<string>();
  const logs = [...sent, ...received].filter((log) => {
    const key = `${log.transactionHash}:${log.logIndex}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  logs.sort(
    (a, b) => Number((b.blockNumber ?? 0n) - (a.blockNumber ?? 0n)) || (b.logIndex ?? 0) - (a.logIndex ?? 0),
  );
  return {
    address,
    ethWei,
    usdcAtomic,
    isContract: code !== undefined && code !== '0x',
    transfers: decodeUsdcLogs(logs.slice(0, limit), usdcAddress).usdcTransfers,
  };
}

export interface BlockSummary {
  number: bigint;
  hash: Hash;
  timestamp: bigint;
  gasUsed: bigint;
  transactions: { hash: Hash; from: Address; to: Address | null }[];
}

/** The latest `count` blocks, newest first. */
export async function getLatestBlocks(client: Client, count = 10): Promise<BlockSummary[]> {
  const head = await client.getBlockNumber();
  const numbers: bigint[] = [];
  for (let n = head; n >= 0n && numbers.length < count; n--) numbers.push(n);
  const blocks = await Promise.all(
    numbers.map((blockNumber) =>
      client.getBlock({ blockNumber, includeTransactions: true }).catch(() => null),
    ),
  );
  return blocks
    .filter((block) => block !== null)
    .map((block) => ({
      number: block.number,
      hash: block.hash,
      timestamp: block.timestamp,
      gasUsed: block.gasUsed,
      transactions: block.transactions.map((tx) => ({
        hash: tx.hash,
        from: getAddress(tx.from),
        to: tx.to ? getAddress(tx.to) : null,
      })),
    }));
}
