import type { FacilitatorEvmSigner } from '@x402/evm';
import { computeChannelId } from '@x402/evm/batch-settlement/client';
import type { Hex } from 'viem';

const PAYER: Hex = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
const RECEIVER: Hex = '0x90F79bf6EB2c4f870365E785982E1f101E93b906';
const USDC: Hex = '0x036CbD53842c5426634e7929541eC2318f3dCF7e';
/** Devnet account 4: the facilitator's devnet receiver authorizer. */
export const DEVNET_AUTHORIZER: Hex = '0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65';
const SIGNATURE: Hex = `0x${'ab'.repeat(65)}`;

export const CHANNEL_CONFIG = {
  payer: PAYER,
  payerAuthorizer: PAYER,
  receiver: RECEIVER,
  receiverAuthorizer: DEVNET_AUTHORIZER,
  token: USDC,
  withdrawDelay: 900,
  salt: `0x${'00'.repeat(32)}` as Hex,
};
export const CHANNEL_ID = computeChannelId(CHANNEL_CONFIG, 'eip155:84532');

export interface BatchOverrides {
  network?: string;
  acceptedNetwork?: string;
  channelConfig?: Partial<typeof CHANNEL_CONFIG>;
}

/** The 402's batch-settlement requirements (as the official server enhances them). */
export function buildBatchRequirements(o: BatchOverrides = {}) {
  return {
    scheme: 'batch-settlement',
    network: o.network ?? 'eip155:84532',
    amount: '40000',
    asset: USDC,
    payTo: RECEIVER,
    maxTimeoutSeconds: 300,
    extra: { receiverAuthorizer: DEVNET_AUTHORIZER, withdrawDelay: 900, name: 'USDC', version: '2' },
  };
}

/** The channel manager's requirements for its own operations (claim, settle, refund). */
export function buildManagerRequirements(o: BatchOverrides = {}) {
  return {
    scheme: 'batch-settlement',
    network: o.network ?? 'eip155:84532',
    asset: USDC,
    amount: '0',
    payTo: RECEIVER,
    maxTimeoutSeconds: 0,
    extra: {},
  };
}

function body(payload: Record<string, unknown>, requirements: Record<string, unknown>, o: BatchOverrides) {
  return {
    x402Version: 2,
    paymentPayload: {
      x402Version: 2,
      accepted: { ...requirements, network: o.acceptedNetwork ?? requirements.network },
      payload,
    },
    paymentRequirements: requirements,
  };
}

const config = (o: BatchOverrides) => ({ ...CHANNEL_CONFIG, ...o.channelConfig });
const voucher = (maxClaimableAmount: string) => ({
  channelId: CHANNEL_ID,
  maxClaimableAmount,
  signature: SIGNATURE,
});

/** A well-formed deposit body (the signatures are shaped right, not valid). */
export function buildDepositBody(o: BatchOverrides = {}) {
  return body(
    {
      type: 'deposit',
      channelConfig: config(o),
      voucher: voucher('40000'),
      deposit: {
        amount: '1000000',
        authorization: {
          erc3009Authorization: {
            validAfter: '0',
            validBefore: '99999999999',
            salt: `0x${'22'.repeat(32)}`,
            signature: SIGNATURE,
          },
        },
      },
    },
    buildBatchRequirements(o),
    o,
  );
}

export function buildVoucherBody(o: BatchOverrides = {}) {
  return body(
    { type: 'voucher', channelConfig: config(o), voucher: voucher('80000') },
    buildBatchRequirements(o),
    o,
  );
}

export const claimEntry = (totalClaimed = '80000') => ({
  voucher: { channel: CHANNEL_CONFIG, maxClaimableAmount: '80000' },
  signature: SIGNATURE,
  totalClaimed,
});

export function buildClaimBody(o: BatchOverrides & { claimAuthorizerSignature?: Hex } = {}) {
  return body(
    {
      type: 'claim',
      claims: [claimEntry()],
      ...(o.claimAuthorizerSignature ? { claimAuthorizerSignature: o.claimAuthorizerSignature } : {}),
    },
    buildManagerRequirements(o),
    o,
  );
}

export function buildSettleBody(o: BatchOverrides = {}) {
  return body(
    { type: 'settle', receiver: CHANNEL_CONFIG.receiver, token: CHANNEL_CONFIG.token },
    buildManagerRequirements(o),
    o,
  );
}

/** The server-completed refund the channel manager sends to `/settle` (signatures delegated unless given). */
export function buildRefundBody(o: BatchOverrides & { signed?: boolean } = {}) {
  return body(
    {
      type: 'refund',
      channelConfig: config(o),
      voucher: voucher('80000'),
      amount: '920000',
      refundNonce: '0',
      claims: [claimEntry()],
      ...(o.signed ? { refundAuthorizerSignature: SIGNATURE, claimAuthorizerSignature: SIGNATURE } : {}),
    },
    buildManagerRequirements(o),
    o,
  );
}

/**
 * A FacilitatorEvmSigner that records writes and answers reads from `read` (default: every read
 * reverts, as on a chain without the channel contract). Nothing here touches a chain.
 */
export function recordingSigner(read?: (functionName: string) => Promise<unknown>) {
  const writes: string[] = [];
  const reads: string[] = [];
  const signer: FacilitatorEvmSigner = {
    getAddresses: () => ['0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC'],
    readContract: async (args) => {
      reads.push(args.functionName);
      if (read) return read(args.functionName);
      throw new Error(`execution reverted: ${args.functionName}`);
    },
    verifyTypedData: async () => false,
    writeContract: async (args) => {
      writes.push(args.functionName);
      return `0x${'cd'.repeat(32)}`;
    },
    sendTransaction: async () => {
      writes.push('sendTransaction');
      return `0x${'cd'.repeat(32)}`;
    },
    waitForTransactionReceipt: async () => ({ status: 'success' }),
    getCode: async () => undefined,
  };
  return { signer, writes, reads };
}
