import type { Hex } from 'viem';

const PAYER: Hex = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
const SELLER: Hex = '0x90F79bf6EB2c4f870365E785982E1f101E93b906';
const USDC: Hex = '0x036CbD53842c5426634e7929541eC2318f3dCF7e';

export interface BodyOverrides {
  value?: string;
  network?: string;
  nonce?: Hex;
}

const authorization = (o: BodyOverrides) => ({
  from: PAYER,
  to: SELLER,
  value: o.value ?? '40000',
  validAfter: '0',
  validBefore: '99999999999',
  nonce: o.nonce ?? `0x${'11'.repeat(32)}`,
});

/** A well-formed v2 `/verify` body (the signature is shaped right, not valid). */
export function buildV2Body(o: BodyOverrides = {}) {
  const requirements = {
    scheme: 'exact',
    network: o.network ?? 'eip155:84532',
    asset: USDC,
    amount: o.value ?? '40000',
    payTo: SELLER,
    maxTimeoutSeconds: 60,
    extra: { name: 'USDC', version: '2' },
  };
  return {
    x402Version: 2,
    paymentPayload: {
      x402Version: 2,
      resource: {
        url: 'http://localhost/generate_image',
        description: 'image',
        mimeType: 'application/json',
      },
      accepted: requirements,
      payload: { signature: `0x${'ab'.repeat(65)}`, authorization: authorization(o) },
    },
    paymentRequirements: requirements,
  };
}

/** A well-formed v1 `/verify` body (the signature is shaped right, not valid). */
export function buildV1Body(o: BodyOverrides = {}) {
  return {
    x402Version: 1,
    paymentPayload: {
      x402Version: 1,
      scheme: 'exact',
      network: o.network ?? 'base-sepolia',
      payload: { signature: `0x${'ab'.repeat(65)}`, authorization: authorization(o) },
    },
    paymentRequirements: {
      scheme: 'exact',
      network: o.network ?? 'base-sepolia',
      maxAmountRequired: o.value ?? '40000',
      resource: 'http://localhost/generate_image',
      description: 'image',
      mimeType: 'application/json',
      payTo: SELLER,
      maxTimeoutSeconds: 60,
      asset: USDC,
      extra: { name: 'USDC', version: '2', chainId: 84532 },
    },
  };
}
