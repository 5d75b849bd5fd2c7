/**
 * THE interop check: a payment signed by the official x402 client (`@x402/core` x402Client with the
 * `@x402/evm` exact scheme) verifies and settles through the official `@x402/evm` exact facilitator
 * scheme against the devnet, and USDC moves by exactly the amount. Nothing here is ours but the chain.
 */
import { x402Client } from '@x402/core/client';
import { x402Facilitator } from '@x402/core/facilitator';
import type { PaymentPayload, PaymentRequired, PaymentRequirements } from '@x402/core/types';
import { toFacilitatorEvmSigner } from '@x402/evm';
import { registerExactEvmScheme as registerClient } from '@x402/evm/exact/client';
import { registerExactEvmScheme as registerFacilitator } from '@x402/evm/exact/facilitator';
import { createWalletClient, http, publicActions } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DevnetAccount } from './accounts.ts';
import { devnetChain } from './chain.ts';
import { DEVNET_NETWORK, USDC_ADDRESS } from './constants.ts';
import { type Devnet, startDevnet } from './start-devnet.ts';

let devnet: Devnet;
let payer: DevnetAccount;
let facilitator: x402Facilitator;

function officialClient(account: DevnetAccount): x402Client {
  const client = new x402Client();
  registerClient(client, { signer: privateKeyToAccount(account.privateKey) });
  return client;
}

function buildPaymentRequired(amount: bigint): PaymentRequired {
  return {
    x402Version: 2,
    resource: {
      url: 'http://127.0.0.1/generate_image',
      description: 'one image',
      mimeType: 'application/json',
    },
    accepts: [
      {
        scheme: 'exact',
        network: DEVNET_NETWORK,
        asset: USDC_ADDRESS,
        amount: amount.toString(),
        payTo: devnet.accounts.seller.address,
        maxTimeoutSeconds: 300,
        extra: { name: 'USDC', version: '2' },
      },
    ],
  };
}

beforeAll(async () => {
  devnet = await startDevnet({ port: 0, quiet: true });
  [payer] = (await devnet.fundPayers(1, 1_000_000n)) as [DevnetAccount];
  const settler = createWalletClient({
    account: privateKeyToAccount(devnet.accounts.settler.privateKey),
    chain: devnetChain(devnet.rpcUrl),
    transport: http(devnet.rpcUrl),
  }).extend(publicActions);
  facilitator = new x402Facilitator();
  registerFacilitator(facilitator, {
    signer: toFacilitatorEvmSigner(
      {
        address: settler.account.address,
        readContract: (args) => settler.readContract(args as Parameters<typeof settler.readContract>[0]),
        verifyTypedData: (args) =>
          settler.verifyTypedData(args as Parameters<typeof settler.verifyTypedData>[0]),
        writeContract: (args) => settler.writeContract(args as Parameters<typeof settler.writeContract>[0]),
        sendTransaction: (args) => settler.sendTransaction(args),
        waitForTransactionReceipt: (args) =>
          settler.waitForTransactionReceipt({ ...args, pollingInterval: 20 }),
        getCode: (args) => settler.getCode(args),
      },
      { confirmationTimeoutMs: 10_000 },
    ),
    networks: DEVNET_NETWORK,
    simulateInSettle: true,
  });
});
afterAll(() => devnet?.stop());

describe('official x402 client → official @x402/evm facilitator on the devnet', () => {
  it('v2: verifies and settles; USDC moves by exactly the amount', async () => {
    const paymentRequired = buildPaymentRequired(40_000n);
    const payload: PaymentPayload = await officialClient(payer).createPaymentPayload(paymentRequired);
    const requirements = paymentRequired.accepts[0] as PaymentRequirements;
    const payerBefore = await devnet.usdcBalance(payer.address);
    const sellerBefore = await devnet.usdcBalance(devnet.accounts.seller.address);

    expect(await facilitator.verify(payload, requirements)).toMatchObject({
      isValid: true,
      payer: payer.address,
    });
    const settled = await facilitator.settle(payload, requirements);
    expect(settled).toMatchObject({ success: true, network: DEVNET_NETWORK, payer: payer.address });
    expect(settled.transaction).toMatch(/^0x[0-9a-f]{64}$/);

    expect(await devnet.usdcBalance(payer.address)).toBe(payerBefore - 40_000n);
    expect(await devnet.usdcBalance(devnet.accounts.seller.address)).toBe(sellerBefore + 40_000n);
    const receipt = await devnet.publicClient.getTransactionReceipt({
      hash: settled.transaction as `0x${string}`,
    });
    expect(receipt.status).toBe('success');
    expect(receipt.from).toBe(devnet.accounts.settler.address.toLowerCase());
  });

  it('v2: the same payload is refused the second time (nonce used on chain)', async () => {
    const paymentRequired = buildPaymentRequired(10_000n);
    const payload = await officialClient(payer).createPaymentPayload(paymentRequired);
    const requirements = paymentRequired.accepts[0] as PaymentRequirements;
    expect((await facilitator.settle(payload, requirements)).success).toBe(true);
    const before = await devnet.usdcBalance(payer.address);
    const again = await facilitator.verify(payload, requirements);
    expect(again).toMatchObject({
      isValid: false,
      invalidReason: 'invalid_exact_evm_nonce_already_used',
      payer: payer.address,
    });
    expect(await devnet.usdcBalance(payer.address)).toBe(before);
  });

  it('v2: verify reports insufficient funds for a payer without USDC', async () => {
    const broke = devnet.payer(900);
    const paymentRequired = buildPaymentRequired(40_000n);
    const payload = await officialClient(broke).createPaymentPayload(paymentRequired);
    const result = await facilitator.verify(payload, paymentRequired.accepts[0] as PaymentRequirements);
    expect(result).toMatchObject({
      isValid: false,
      invalidReason: 'invalid_exact_evm_insufficient_balance',
      payer: broke.address,
    });
  });

  it("v1 (the seed's wire format): verifies and settles on base-sepolia", async () => {
    const requirementsV1 = {
      scheme: 'exact',
      network: 'base-sepolia',
      maxAmountRequired: '60000',
      resource: 'http://127.0.0.1/generate_image',
      description: 'one image',
      mimeType: 'application/json',
      outputSchema: {},
      payTo: devnet.accounts.seller.address,
      maxTimeoutSeconds: 300,
      asset: USDC_ADDRESS,
      extra: { name: 'USDC', version: '2', chainId: 84532 },
    };
    const payload = await officialClient(payer).createPaymentPayload({
      x402Version: 1,
      accepts: [requirementsV1],
    } as unknown as PaymentRequired);
    expect(payload.x402Version).toBe(1);
    const before = await devnet.usdcBalance(devnet.accounts.seller.address);
    const asV2 = requirementsV1 as unknown as PaymentRequirements;
    expect(await facilitator.verify(payload, asV2)).toMatchObject({ isValid: true });
    expect(await facilitator.settle(payload, asV2)).toMatchObject({ success: true, network: 'base-sepolia' });
    expect(await devnet.usdcBalance(devnet.accounts.seller.address)).toBe(before + 60_000n);
  });
});
