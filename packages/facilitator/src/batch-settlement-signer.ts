import type { FacilitatorEvmSigner } from '@x402/evm';
import { type Abi, type Address, concatHex, encodeFunctionData, type Hex } from 'viem';

export interface BatchSettlementSignerOptions {
  /** Percent added to the node's estimate (state may change between estimate and inclusion). */
  gasHeadroomPercent?: number;
}

/** What the adapter needs: the settler signer (send lane, nonce allocator) and a gas estimate. */
export type GasEstimatingSigner = FacilitatorEvmSigner & {
  estimateGas(args: { to: Address; data: Hex }): Promise<bigint>;
};

/**
 * The settler signer as the official batch-settlement facilitator scheme needs it. Every
 * transaction still leaves through the settler's send lane (one request in flight per settler,
 * nonce order, no answer → the hash is handed out and the receipt awaited, so the scheme answers
 * `settlement_pending`, never a failure, while the transaction may land). What differs from exact:
 * the gas limit. The fixed devnet limit suits one `transferWithAuthorization`; a deposit through
 * the collector, a claim across many channels or a claim+refund multicall vary in size, so a write
 * without a limit is estimated (`eth_estimateGas` from the first settler; the contract's entry
 * points do not depend on `msg.sender`) plus headroom. A call the node expects to revert fails the
 * estimate, so nothing is broadcast: the scheme answers its `*_transaction_failed` code.
 *
 * @example
 * const scheme = new BatchSettlementEvmScheme(createBatchSettlementSigner(settlerSigner), authorizer);
 */
export function createBatchSettlementSigner(
  settler: GasEstimatingSigner,
  options: BatchSettlementSignerOptions = {},
): FacilitatorEvmSigner {
  const headroom = BigInt(options.gasHeadroomPercent ?? 25);
  const withHeadroom = (gas: bigint) => gas + (gas * headroom) / 100n;
  return {
    getAddresses: () => settler.getAddresses(),
    readContract: (args) => settler.readContract(args),
    verifyTypedData: (args) => settler.verifyTypedData(args),
    getCode: (args) => settler.getCode(args),
    waitForTransactionReceipt: (args) => settler.waitForTransactionReceipt(args),
    writeContract: async (args) => {
      if (args.gas !== undefined) return settler.writeContract(args);
      const encoded = encodeFunctionData({
        abi: args.abi as Abi,
        functionName: args.functionName,
        args: args.args,
      });
      const data = args.dataSuffix ? concatHex([encoded, args.dataSuffix]) : encoded;
      const gas = withHeadroom(await settler.estimateGas({ to: args.address, data }));
      return settler.writeContract({ ...args, gas });
    },
    // The scheme sends a raw transaction only to deploy an ERC-6492 smart wallet before its
    // deposit, which this facilitator never does (no factory is allowed): refuse, send nothing.
    sendTransaction: async () => {
      throw new Error('raw transactions are not sent by the batch-settlement facilitator');
    },
  };
}
