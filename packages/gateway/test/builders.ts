import {
  authorizationToWire,
  createAuthorizationNonce,
  encodeHeader,
  getNetwork,
  transferWithAuthorizationTypedData,
} from '@agentic-payments/x402';
import type { Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import {
  type FacilitatorClient,
  type FacilitatorRequest,
  FacilitatorUnavailableError,
} from '../src/facilitator-client.ts';
import { toV2Requirements } from '../src/requirements.ts';

/** anvil's well-known account 1 (the devnet's agent payer) and account 3 (the seller). Devnet only. */
export const PAYER_KEY: Hex = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d';
export const payer = privateKeyToAccount(PAYER_KEY);
export const SELLER = '0x90F79bf6EB2c4f870365E785982E1f101E93b906' as const;
export const network = getNetwork('devnet');

export interface PaymentOverrides {
  version?: 1 | 2;
  value?: bigint;
  to?: `0x${string}`;
  validAfter?: bigint;
  validBefore?: bigint;
  nonce?: Hex;
  chainId?: number;
  verifyingContract?: `0x${string}`;
  v1Network?: string;
  accepted?: Partial<Omit<ReturnType<typeof toV2Requirements>, 'extra'>> & {
    extra?: Record<string, unknown>;
  };
  nowSeconds?: bigint;
  corruptSignature?: boolean;
}

/** A real EIP-3009 signature by the devnet payer, wrapped as an x402 v1 or v2 payment payload. */
export async function buildPayment(
  overrides: PaymentOverrides = {},
): Promise<{ payload: unknown; header: string }> {
  const now = overrides.nowSeconds ?? BigInt(Math.floor(Date.now() / 1000));
  const authorization = {
    from: payer.address,
    to: overrides.to ?? SELLER,
    value: overrides.value ?? 40_000n,
    validAfter: overrides.validAfter ?? now - 600n,
    validBefore: overrides.validBefore ?? now + 300n,
    nonce: overrides.nonce ?? createAuthorizationNonce(),
  };
  let signature = await payer.signTypedData(
    transferWithAuthorizationTypedData({
      chainId: overrides.chainId ?? network.chainId,
      verifyingContract: overrides.verifyingContract ?? network.usdcAddress,
      authorization,
    }),
  );
  if (overrides.corruptSignature) signature = `${signature.slice(0, -6)}000000` as Hex;
  const exact = { signature, authorization: authorizationToWire(authorization) };
  const payload =
    overrides.version === 1
      ? { x402Version: 1, scheme: 'exact', network: overrides.v1Network ?? network.v1Name, payload: exact }
      : {
          x402Version: 2,
          accepted: {
            ...toV2Requirements({
              network,
              asset: network.usdcAddress,
              payTo: SELLER,
              amount: overrides.value ?? 40_000n,
              resource: 'http://localhost/generate_image',
              description: 'test',
            }),
            ...overrides.accepted,
          },
          payload: exact,
        };
  return { payload, header: encodeHeader(payload) };
}

export type FakeBehaviour = 'ok' | 'invalid' | 'down' | 'settle-fails' | 'settle-pending' | 'settle-timeout';

/**
 * Fake facilitator for unit tests where isolation is the point (the real one is exercised in
 * gateway.devnet.test.ts). It records every call and follows `behaviour`.
 */
export function createFakeFacilitator(behaviour: FakeBehaviour = 'ok') {
  const calls: { verify: FacilitatorRequest[]; settle: FacilitatorRequest[] } = { verify: [], settle: [] };
  const state = { behaviour, delayMs: 0 };
  const unavailable = (delivered: boolean) =>
    new FacilitatorUnavailableError('facilitator unreachable (fake)', { delivered });
  const client: FacilitatorClient = {
    async verify(request) {
      calls.verify.push(request);
      if (state.behaviour === 'down') throw unavailable(false);
      if (state.behaviour === 'invalid') {
        return {
          isValid: false,
          invalidReason: 'invalid_exact_evm_signature',
          invalidMessage: 'bad signature',
        };
      }
      return { isValid: true, payer: payer.address };
    },
    async settle(request) {
      calls.settle.push(request);
      if (state.delayMs > 0) await new Promise((r) => setTimeout(r, state.delayMs));
      const tx = `0x${calls.settle.length.toString(16).padStart(64, '0')}`;
      if (state.behaviour === 'settle-fails') {
        return {
          success: false,
          errorReason: 'invalid_exact_evm_transaction_failed',
          transaction: tx,
          network: 'eip155:84532',
        };
      }
      if (state.behaviour === 'settle-pending') {
        return {
          success: false,
          errorReason: 'settlement_pending',
          transaction: tx,
          network: 'eip155:84532',
        };
      }
      if (state.behaviour === 'settle-timeout') throw unavailable(true);
      return { success: true, transaction: tx, network: 'eip155:84532', payer: payer.address };
    },
    async supported() {
      return {
        kinds: [{ x402Version: 2, scheme: 'exact', network: 'eip155:84532' }],
        extensions: [],
        signers: {},
      };
    },
  };
  return { client, calls, state };
}
