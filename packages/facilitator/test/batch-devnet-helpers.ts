import { batchSettlementAbi, type DevnetAccount } from '@agentic-payments/devnet';
import { x402Client } from '@x402/core/client';
import { HTTPFacilitatorClient } from '@x402/core/http';
import type { PaymentPayload, PaymentRequirements } from '@x402/core/types';
import { BATCH_SETTLEMENT_ADDRESS, toClientEvmSigner } from '@x402/evm';
import {
  BatchSettlementEvmScheme as BatchSettlementClientScheme,
  InMemoryClientChannelStorage,
} from '@x402/evm/batch-settlement/client';
import { BatchSettlementEvmScheme as BatchSettlementServerScheme } from '@x402/evm/batch-settlement/server';
import type { Address, Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import type { FacilitatorFixture } from './devnet-helpers.ts';

export const NETWORK = 'eip155:84532';
export const PRICE = 40_000n;
/** The bearer token the integration tests' facilitator accepts for delegated signatures. */
export const TOKEN = 'gateway-token-0123456789';

export const bodyOf = (paymentPayload: PaymentPayload) => ({
  x402Version: 2,
  paymentPayload,
  paymentRequirements: paymentPayload.accepted,
});

/** The official facilitator client, sending the bearer token on `/settle` as a gateway would. */
export function facilitatorClient(fx: FacilitatorFixture): HTTPFacilitatorClient {
  const auth = { Authorization: `Bearer ${TOKEN}` };
  return new HTTPFacilitatorClient({
    url: fx.facilitator.url,
    createAuthHeaders: async () => ({ verify: {}, settle: auth, supported: {} }),
  });
}

/** The 402's requirements, enhanced by the official server scheme from our `/supported`. */
export async function requirementsFor(
  fx: FacilitatorFixture,
  receiver: Address,
): Promise<PaymentRequirements> {
  const supported = await facilitatorClient(fx).getSupported();
  const kind = supported.kinds.find((k) => k.scheme === 'batch-settlement' && k.network === NETWORK);
  if (!kind) throw new Error('batch-settlement not in /supported');
  const server = new BatchSettlementServerScheme(receiver);
  return server.enhancePaymentRequirements(
    {
      scheme: 'batch-settlement',
      network: NETWORK,
      amount: PRICE.toString(),
      asset: fx.devnet.usdcAddress,
      payTo: receiver,
      maxTimeoutSeconds: 300,
      extra: { name: 'USDC', version: '2' },
    },
    kind,
    [],
  );
}

/** The official batch-settlement client for one payer, with its own channel storage. */
export function officialClient(fx: FacilitatorFixture, payer: DevnetAccount) {
  const storage = new InMemoryClientChannelStorage();
  const signer = toClientEvmSigner(privateKeyToAccount(payer.privateKey), fx.devnet.publicClient);
  const scheme = new BatchSettlementClientScheme(signer, { storage });
  const client = new x402Client().register(NETWORK, scheme);
  const pay = (requirements: PaymentRequirements) =>
    client.createPaymentPayload({
      x402Version: 2,
      resource: {
        url: 'http://127.0.0.1/generate_image',
        description: 'image',
        mimeType: 'application/json',
      },
      accepts: [requirements],
    });
  return { pay, storage };
}

/** `channels(channelId)` on our channel contract. */
export async function channelState(fx: FacilitatorFixture, channelId: Hex) {
  const [balance, totalClaimed] = await fx.devnet.publicClient.readContract({
    address: BATCH_SETTLEMENT_ADDRESS,
    abi: batchSettlementAbi,
    functionName: 'channels',
    args: [channelId],
  });
  return { balance, totalClaimed };
}
