import type { NetworkInfo } from '@agentic-payments/x402';
import { computeChannelId } from '@x402/evm/batch-settlement/client';
import type { Channel } from '@x402/evm/batch-settlement/server';
import type { FacilitatorClient, FacilitatorRequest } from '../src/facilitator-client.ts';

const ADDRESS = (digit: string) => `0x${digit.repeat(40)}` as const;

/**
 * TEST ONLY: a channel record as the gateway leaves it after charging `charged` of a `balance`
 * deposit, nothing claimed on chain yet, last used `idleMs` ago. Its voucher signature is a
 * placeholder: neither the storage nor the channel manager check it (the facilitator does).
 */
export function chargedChannel(params: {
  readonly network: NetworkInfo;
  readonly receiver: `0x${string}`;
  readonly charged: bigint;
  readonly balance: bigint;
  readonly idleMs?: number;
  /** Tells channels of one test apart (the config's salt). */
  readonly salt?: number;
}): Channel {
  const channelConfig = {
    payer: ADDRESS('1'),
    payerAuthorizer: ADDRESS('1'),
    receiver: params.receiver,
    receiverAuthorizer: ADDRESS('2'),
    token: params.network.usdcAddress,
    withdrawDelay: 900,
    salt: `0x${(params.salt ?? 0).toString(16).padStart(64, '0')}` as `0x${string}`,
  };
  return {
    channelId: computeChannelId(channelConfig, params.network.caip2).toLowerCase() as `0x${string}`,
    channelConfig,
    chargedCumulativeAmount: params.charged.toString(),
    signedMaxClaimable: params.charged.toString(),
    signature: `0x${'ab'.repeat(65)}`,
    balance: params.balance.toString(),
    totalClaimed: '0',
    withdrawRequestedAt: 0,
    refundNonce: 0,
    lastRequestTimestamp: Date.now() - (params.idleMs ?? 0),
  } as Channel;
}

/**
 * TEST ONLY: a facilitator stand-in that answers every claim, settle and refund with success (a
 * made-up transaction hash) and records what it was sent. No chain.
 */
export function acceptingFacilitator(network: NetworkInfo): FacilitatorClient & {
  readonly settled: FacilitatorRequest[];
} {
  const settled: FacilitatorRequest[] = [];
  return {
    settled,
    async supported() {
      return {
        kinds: [{ x402Version: 2, scheme: 'batch-settlement', network: network.caip2, extra: {} }],
        extensions: [],
        signers: {},
      };
    },
    async verify() {
      return { isValid: false, invalidReason: 'stand_in_verifies_nothing' };
    },
    async settle(request) {
      settled.push(request);
      const transaction = `0x${settled.length.toString(16).padStart(64, '0')}`;
      return { success: true, transaction, network: network.caip2 };
    },
  };
}
