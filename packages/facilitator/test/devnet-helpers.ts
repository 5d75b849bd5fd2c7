import { connectDevnet, type DevnetAccount, type DevnetClient } from '@agentic-payments/devnet';
import type {} from '@agentic-payments/devnet/global-setup';
import { x402Client } from '@x402/core/client';
import type { PaymentPayload, PaymentRequirements } from '@x402/core/types';
import { authorizationTypes } from '@x402/evm';
import { registerExactEvmScheme } from '@x402/evm/exact/client';
import type { Address, Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { inject } from 'vitest';
import { createPaymentHeader } from 'x402/client';
import type { PaymentRequirements as PaymentRequirementsV1 } from 'x402/types';
import { createMemoryLogger } from '../src/logger.ts';
import {
  type RunningFacilitator,
  type StartFacilitatorOptions,
  startFacilitator,
} from '../src/start-facilitator.ts';

export const PRICE = 40_000n; // $0.04, Nova Canvas 1024x1024 standard

export interface FacilitatorFixture {
  devnet: DevnetClient;
  facilitator: RunningFacilitator;
  logger: ReturnType<typeof createMemoryLogger>;
  settler: DevnetAccount;
}

/**
 * Connects to the project's devnet and starts a facilitator on a free port with a settler of its
 * own (a fresh funded account), so parallel test files never share a nonce sequence.
 */
export async function startFixture(
  options: Partial<StartFacilitatorOptions> = {},
): Promise<FacilitatorFixture> {
  const devnet = connectDevnet(inject('devnet'));
  const [settler] = await devnet.fundPayers(1, 0n, 100n * 10n ** 18n);
  if (!settler) throw new Error('no settler');
  const logger = createMemoryLogger();
  const facilitator = await startFacilitator({
    rpcUrl: devnet.rpcUrl,
    privateKey: settler.privateKey,
    network: 'devnet',
    port: 0,
    logger,
    ...options,
  });
  return { devnet, facilitator, logger, settler };
}

/** A fresh address with nothing on it, so balance deltas are exact. */
export function freshSeller(): Address {
  return privateKeyToAccount(generatePrivateKey()).address;
}

export function requirementsV2(
  devnet: DevnetClient,
  payTo: Address,
  overrides: Partial<PaymentRequirements> = {},
): PaymentRequirements {
  return {
    scheme: 'exact',
    network: 'eip155:84532',
    asset: devnet.usdcAddress,
    amount: PRICE.toString(),
    payTo,
    maxTimeoutSeconds: 120,
    extra: { name: 'USDC', version: '2' },
    ...overrides,
  };
}

export function requirementsV1(
  devnet: DevnetClient,
  payTo: Address,
  overrides: Partial<PaymentRequirementsV1> = {},
): PaymentRequirementsV1 {
  return {
    scheme: 'exact',
    network: 'base-sepolia',
    maxAmountRequired: PRICE.toString(),
    resource: 'http://127.0.0.1/generate_image',
    description: 'AI image 1024x1024 standard',
    mimeType: 'application/json',
    payTo,
    maxTimeoutSeconds: 120,
    asset: devnet.usdcAddress,
    extra: { name: 'USDC', version: '2', chainId: 84532 },
    ...overrides,
  };
}

/** A v2 payload made by the official client (`@x402/core` x402Client + `@x402/evm` exact scheme). */
export async function signV2(
  payer: DevnetAccount,
  requirements: PaymentRequirements,
): Promise<PaymentPayload> {
  const client = registerExactEvmScheme(new x402Client(), { signer: privateKeyToAccount(payer.privateKey) });
  return client.createPaymentPayload({
    x402Version: 2,
    resource: { url: 'http://127.0.0.1/generate_image', description: 'image', mimeType: 'application/json' },
    accepts: [requirements],
  });
}

/** A v1 payload made by the official v1 client (`x402/client` createPaymentHeader), decoded. */
export async function signV1(payer: DevnetAccount, requirements: PaymentRequirementsV1): Promise<V1Payload> {
  const header = await createPaymentHeader(privateKeyToAccount(payer.privateKey), 1, requirements);
  return JSON.parse(Buffer.from(header, 'base64').toString('utf8')) as V1Payload;
}

export interface V1Payload {
  x402Version: 1;
  scheme: 'exact';
  network: string;
  payload: { signature: Hex; authorization: Authorization };
}

export interface Authorization {
  from: Address;
  to: Address;
  value: string;
  validAfter: string;
  validBefore: string;
  nonce: Hex;
}

/** Signs an EIP-3009 authorization with chosen fields (for windows the official client never makes). */
export async function signAuthorization(
  payer: DevnetAccount,
  devnet: DevnetClient,
  fields: Partial<Authorization> & { to: Address },
): Promise<{ signature: Hex; authorization: Authorization }> {
  const now = Math.floor(Date.now() / 1000);
  const authorization: Authorization = {
    from: payer.address,
    value: PRICE.toString(),
    validAfter: String(now - 600),
    validBefore: String(now + 120),
    nonce: generatePrivateKey(),
    ...fields,
  };
  const signature = await privateKeyToAccount(payer.privateKey).signTypedData({
    domain: { name: 'USDC', version: '2', chainId: 84532, verifyingContract: devnet.usdcAddress },
    types: authorizationTypes,
    primaryType: 'TransferWithAuthorization',
    message: {
      ...authorization,
      value: BigInt(authorization.value),
      validAfter: BigInt(authorization.validAfter),
      validBefore: BigInt(authorization.validBefore),
    },
  });
  return { signature, authorization };
}

export function v2Payload(
  requirements: PaymentRequirements,
  signed: { signature: Hex; authorization: Authorization },
): PaymentPayload {
  return {
    x402Version: 2,
    resource: { url: 'http://127.0.0.1/generate_image', description: 'image', mimeType: 'application/json' },
    accepted: requirements,
    payload: signed,
  };
}

export async function postJson(
  url: string,
  body: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}
