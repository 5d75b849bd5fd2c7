import {
  createPublicClient,
  http,
  isAddressEqual,
  type PublicClient,
  parseAbi,
  parseAbiItem,
  parseEventLogs,
} from 'viem';

/**
 * Read-only chain access, used only to recover a purchase whose settlement outcome was lost (the
 * gateway crashed or the facilitator timed out after `settle` was sent).
 */
export interface ChainReader {
  /** `unknown` while the transaction is not mined (or not known to this node). */
  receiptStatus(hash: `0x${string}`): Promise<'success' | 'reverted' | 'unknown'>;
  /** EIP-3009 `authorizationState(authorizer, nonce)`: true once used or cancelled. */
  authorizationUsed(asset: `0x${string}`, from: `0x${string}`, nonce: `0x${string}`): Promise<boolean>;
  /** The transaction that emitted `AuthorizationUsed(authorizer, nonce)`, if found in recent blocks. */
  findAuthorizationTransaction(
    asset: `0x${string}`,
    from: `0x${string}`,
    nonce: `0x${string}`,
  ): Promise<`0x${string}` | undefined>;
  /**
   * The ERC-20 `Transfer` a mined transaction made from `from` on `asset` (an EIP-3009 transfer
   * emits exactly one), or undefined when it made none.
   */
  transferOf(
    hash: `0x${string}`,
    asset: `0x${string}`,
    from: `0x${string}`,
  ): Promise<{ readonly to: `0x${string}`; readonly value: bigint } | undefined>;
  /** EIP-712 signature check that also accepts smart-wallet signatures (ERC-1271, ERC-6492). */
  verifyTypedData?(parameters: Parameters<PublicClient['verifyTypedData']>[0]): Promise<boolean>;
}

const EIP3009_ABI = parseAbi([
  'function authorizationState(address authorizer, bytes32 nonce) view returns (bool)',
]);
const TRANSFER_ABI = parseAbi(['event Transfer(address indexed from, address indexed to, uint256 value)']);
const AUTHORIZATION_USED = parseAbiItem(
  'event AuthorizationUsed(address indexed authorizer, bytes32 indexed nonce)',
);

/**
 * ChainReader over JSON-RPC with viem.
 *
 * @example
 * const chain = createViemChainReader({ rpcUrl: 'http://127.0.0.1:8545' });
 */
export function createViemChainReader(options: {
  readonly rpcUrl: string;
  readonly lookbackBlocks?: bigint;
}): ChainReader {
  const client = createPublicClient({ transport: http(options.rpcUrl, { timeout: 10_000 }) });
  const lookback = options.lookbackBlocks ?? 5_000n;
  return {
    async receiptStatus(hash) {
      try {
        const receipt = await client.getTransactionReceipt({ hash });
        return receipt.status;
      } catch (error) {
        if (error instanceof Error && error.name === 'TransactionReceiptNotFoundError') return 'unknown';
        throw error;
      }
    },
    authorizationUsed: (asset, from, nonce) =>
      client.readContract({
        address: asset,
        abi: EIP3009_ABI,
        functionName: 'authorizationState',
        args: [from, nonce],
      }),
    async findAuthorizationTransaction(asset, from, nonce) {
      const latest = await client.getBlockNumber();
      const logs = await client.getLogs({
        address: asset,
        event: AUTHORIZATION_USED,
        args: { authorizer: from, nonce },
        fromBlock: latest > lookback ? latest - lookback : 0n,
        toBlock: latest,
      });
      return logs[0]?.transactionHash ?? undefined;
    },
    verifyTypedData: (parameters) => client.verifyTypedData(parameters),
    async transferOf(hash, asset, from) {
      const receipt = await client.getTransactionReceipt({ hash });
      if (receipt.status !== 'success') return undefined;
      const transfer = parseEventLogs({ abi: TRANSFER_ABI, logs: receipt.logs, eventName: 'Transfer' }).find(
        (log) => isAddressEqual(log.address, asset) && isAddressEqual(log.args.from, from),
      );
      return transfer === undefined ? undefined : { to: transfer.args.to, value: transfer.args.value };
    },
  };
}
