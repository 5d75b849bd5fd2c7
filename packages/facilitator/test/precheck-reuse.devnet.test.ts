import { connectDevnet, type DevnetClient } from '@agentic-payments/devnet';
import type {} from '@agentic-payments/devnet/global-setup';
import type { PaymentPayload } from '@x402/core/types';
import type { FacilitatorEvmSigner } from '@x402/evm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { NETWORK_INFO } from '../src/networks.ts';
import { createPaymentFacilitator, type PaymentFacilitator } from '../src/payment-facilitator.ts';
import { type FacilitatorRequest, parseFacilitatorRequest } from '../src/request-schema.ts';
import { createSettlerSigner, type SettlerSigner } from '../src/settler-signer.ts';
import { freshSeller, PRICE, requirementsV2, signV2 } from './devnet-helpers.ts';

// The facilitator core over a real settler signer on the devnet, with the signer's contract reads
// counted by function name: settle reuses a passed verify-time pre-check for a short window only.

let devnet: DevnetClient;
let settler: SettlerSigner;
const reads: string[] = [];
let countingSigner: FacilitatorEvmSigner;

beforeAll(async () => {
  devnet = connectDevnet(inject('devnet'));
  const [account] = await devnet.fundPayers(1, 0n, 100n * 10n ** 18n);
  if (!account) throw new Error('no settler');
  settler = createSettlerSigner({
    rpcUrl: devnet.rpcUrl,
    chain: NETWORK_INFO.devnet.chain,
    privateKeys: [account.privateKey],
    receiptTimeoutMs: 15_000,
    pollingIntervalMs: 20,
    gasLimit: 200_000n,
    eagerReceipt: true,
  });
  countingSigner = {
    ...settler,
    readContract: (args) => {
      reads.push(args.functionName);
      return settler.readContract(args);
    },
  };
});

afterAll(() => settler?.close());

const facilitatorWith = (precheckReuseMs?: number): PaymentFacilitator =>
  createPaymentFacilitator({
    signer: countingSigner,
    network: NETWORK_INFO.devnet,
    ...(precheckReuseMs === undefined ? {} : { precheckReuseMs }),
  });

async function paidRequest(funds = 1_000_000n): Promise<{ request: FacilitatorRequest; seller: string }> {
  const [payer] = await devnet.fundPayers(1, funds);
  if (!payer) throw new Error('no payer');
  const seller = freshSeller();
  const payload: PaymentPayload = await signV2(payer, requirementsV2(devnet, seller));
  const parsed = parseFacilitatorRequest({
    x402Version: 2,
    paymentPayload: payload,
    paymentRequirements: payload.accepted,
  });
  if (!parsed.ok) throw new Error(parsed.message);
  return { request: parsed.request, seller };
}

/** Contract reads by function name during `run`. */
async function readsDuring<T>(run: () => Promise<T>): Promise<{ result: T; names: string[] }> {
  const start = reads.length;
  const result = await run();
  return { result, names: reads.slice(start) };
}

describe('settle right after a passed verify', () => {
  it('skips the authorizationState / balanceOf pre-check once, and still moves the USDC exactly once', async () => {
    const facilitator = facilitatorWith();
    const { request, seller } = await paidRequest();
    const verified = await readsDuring(() => facilitator.verify(request));
    expect(verified.result.isValid).toBe(true);
    expect(verified.names).toEqual(expect.arrayContaining(['authorizationState', 'balanceOf']));

    const settled = await readsDuring(() => facilitator.settle(request));
    expect(settled.result.success).toBe(true);
    expect(settled.names).not.toContain('authorizationState');
    expect(settled.names).not.toContain('balanceOf');
    expect(await devnet.usdcBalance(seller as `0x${string}`)).toBe(PRICE);

    // The reuse was consumed: the replay reads the chain again and is refused without a transfer.
    const replay = await readsDuring(() => facilitator.settle(request));
    expect(replay.names).toContain('authorizationState');
    expect(replay.result).toMatchObject({ success: false, errorReason: 'authorization_already_used' });
    expect(await devnet.usdcBalance(seller as `0x${string}`)).toBe(PRICE);
  });
});

describe('when there is no recent verify result', () => {
  it('runs the pre-check in settle without a verify', async () => {
    const facilitator = facilitatorWith();
    const { request } = await paidRequest();
    const settled = await readsDuring(() => facilitator.settle(request));
    expect(settled.result.success).toBe(true);
    expect(settled.names).toEqual(expect.arrayContaining(['authorizationState', 'balanceOf']));
  });

  it('runs the pre-check again once the reuse window has passed', async () => {
    const facilitator = facilitatorWith(50);
    const { request } = await paidRequest();
    expect((await facilitator.verify(request)).isValid).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 120));
    const settled = await readsDuring(() => facilitator.settle(request));
    expect(settled.result.success).toBe(true);
    expect(settled.names).toEqual(expect.arrayContaining(['authorizationState', 'balanceOf']));
  });

  it('runs the pre-check when reuse is off (precheckReuseMs 0)', async () => {
    const facilitator = facilitatorWith(0);
    const { request } = await paidRequest();
    expect((await facilitator.verify(request)).isValid).toBe(true);
    const settled = await readsDuring(() => facilitator.settle(request));
    expect(settled.result.success).toBe(true);
    expect(settled.names).toContain('authorizationState');
  });

  it('does not reuse a verify whose answer was invalid (insufficient balance)', async () => {
    const facilitator = facilitatorWith();
    const { request } = await paidRequest(PRICE - 1n);
    const verified = await facilitator.verify(request);
    expect(verified).toMatchObject({
      isValid: false,
      invalidReason: 'invalid_exact_evm_insufficient_balance',
    });
    const settled = await readsDuring(() => facilitator.settle(request));
    expect(settled.names).toContain('balanceOf');
    expect(settled.result).toMatchObject({
      success: false,
      errorReason: 'invalid_exact_evm_insufficient_balance',
      transaction: '',
    });
  });
});
