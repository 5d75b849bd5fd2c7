import { HTTPFacilitatorClient } from '@x402/core/http';
import type { PaymentPayload } from '@x402/core/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useFacilitator } from 'x402/verify';
import {
  type FacilitatorFixture,
  freshSeller,
  PRICE,
  postJson,
  requirementsV1,
  requirementsV2,
  signAuthorization,
  signV1,
  signV2,
  startFixture,
  v2Payload,
} from './devnet-helpers.ts';

let fx: FacilitatorFixture;

beforeAll(async () => {
  fx = await startFixture();
});

afterAll(async () => {
  await fx?.facilitator.stop();
});

const verify = (body: unknown) => postJson(`${fx.facilitator.url}/verify`, body);
const settle = (body: unknown) => postJson(`${fx.facilitator.url}/settle`, body);
const v2Body = (paymentPayload: PaymentPayload) => ({
  x402Version: 2,
  paymentPayload,
  paymentRequirements: paymentPayload.accepted,
});

describe('the facilitator on the devnet', () => {
  describe('with a v2 payload from the official client', () => {
    it('verifies, settles once, and moves the USDC exactly once', async () => {
      const [payer] = await fx.devnet.fundPayers(1, 1_000_000n);
      if (!payer) throw new Error('no payer');
      const seller = freshSeller();
      const payload = await signV2(payer, requirementsV2(fx.devnet, seller));

      expect(await verify(v2Body(payload))).toStrictEqual({
        status: 200,
        json: { isValid: true, payer: payer.address },
      });
      const settled = await settle(v2Body(payload));
      expect(settled.status).toBe(200);
      expect(settled.json).toMatchObject({ success: true, network: 'eip155:84532', payer: payer.address });
      expect(settled.json.transaction).toMatch(/^0x[0-9a-f]{64}$/);
      expect(await fx.devnet.usdcBalance(seller)).toBe(PRICE);
      expect(await fx.devnet.usdcBalance(payer.address)).toBe(1_000_000n - PRICE);

      // Replay: an answer, not a revert, and no second transfer (nothing even broadcast).
      const sentBefore = fx.facilitator.stats().transactionsSent;
      expect(await settle(v2Body(payload))).toStrictEqual({
        status: 200,
        json: {
          success: false,
          errorReason: 'authorization_already_used',
          transaction: '',
          network: 'eip155:84532',
          payer: payer.address,
        },
      });
      expect(await verify(v2Body(payload))).toStrictEqual({
        status: 200,
        json: { isValid: false, invalidReason: 'authorization_already_used', payer: payer.address },
      });
      expect(await fx.devnet.usdcBalance(seller)).toBe(PRICE);
      expect(fx.facilitator.stats().transactionsSent).toBe(sentBefore);
    });
  });

  describe('with a v1 payload from the official v1 client', () => {
    it('verifies, settles once, and refuses the replay', async () => {
      const [payer] = await fx.devnet.fundPayers(1, 1_000_000n);
      if (!payer) throw new Error('no payer');
      const seller = freshSeller();
      const requirements = requirementsV1(fx.devnet, seller);
      const paymentPayload = await signV1(payer, requirements);
      const body = { x402Version: 1, paymentPayload, paymentRequirements: requirements };

      expect(await verify(body)).toStrictEqual({
        status: 200,
        json: { isValid: true, payer: payer.address },
      });
      const settled = await settle(body);
      expect(settled.json).toMatchObject({ success: true, network: 'base-sepolia', payer: payer.address });
      expect(await fx.devnet.usdcBalance(seller)).toBe(PRICE);

      expect((await settle(body)).json).toMatchObject({
        success: false,
        errorReason: 'authorization_already_used',
        transaction: '',
      });
      expect(await fx.devnet.usdcBalance(seller)).toBe(PRICE);
    });
  });

  describe('rejections', () => {
    const now = () => Math.floor(Date.now() / 1000);

    it.each([
      [
        'an expired authorization',
        { validBefore: () => String(now() - 1) },
        'invalid_exact_evm_payload_authorization_valid_before',
      ],
      [
        'a not-yet-valid authorization',
        { validAfter: () => String(now() + 3_600) },
        'invalid_exact_evm_payload_authorization_valid_after',
      ],
      [
        'an authorization for less than the price',
        { value: () => String(PRICE - 1n) },
        'invalid_exact_evm_payload_authorization_value_mismatch',
      ],
    ])('answers invalid for %s and settles nothing', async (_name, fields, reason) => {
      const [payer] = await fx.devnet.fundPayers(1, 1_000_000n);
      if (!payer) throw new Error('no payer');
      const seller = freshSeller();
      const requirements = requirementsV2(fx.devnet, seller);
      const overrides = Object.fromEntries(Object.entries(fields).map(([k, f]) => [k, f()]));
      const payload = v2Payload(
        requirements,
        await signAuthorization(payer, fx.devnet, { to: seller, ...overrides }),
      );

      expect((await verify(v2Body(payload))).json).toStrictEqual({
        isValid: false,
        invalidReason: reason,
        payer: payer.address,
      });
      expect((await settle(v2Body(payload))).json).toMatchObject({
        success: false,
        errorReason: reason,
        transaction: '',
      });
      expect(await fx.devnet.usdcBalance(seller)).toBe(0n);
      expect(await fx.devnet.usdcBalance(payer.address)).toBe(1_000_000n);
    });

    it('answers invalid_exact_evm_signature for a tampered authorization', async () => {
      const [payer] = await fx.devnet.fundPayers(1, 1_000_000n);
      if (!payer) throw new Error('no payer');
      const seller = freshSeller();
      const requirements = requirementsV2(fx.devnet, seller);
      const signed = await signAuthorization(payer, fx.devnet, { to: seller });
      // Signed for the price; the payload claims a later deadline the payer never signed.
      const tampered = {
        ...signed,
        authorization: { ...signed.authorization, validBefore: String(now() + 999) },
      };
      const payload = v2Payload(requirements, tampered);

      expect((await verify(v2Body(payload))).json).toStrictEqual({
        isValid: false,
        invalidReason: 'invalid_exact_evm_signature',
        payer: payer.address,
      });
      expect((await settle(v2Body(payload))).json).toMatchObject({
        success: false,
        errorReason: 'invalid_exact_evm_signature',
      });
      expect(await fx.devnet.usdcBalance(seller)).toBe(0n);
    });

    it('answers invalid_exact_evm_insufficient_balance for a payer without enough USDC', async () => {
      const [payer] = await fx.devnet.fundPayers(1, PRICE - 1n);
      if (!payer) throw new Error('no payer');
      const seller = freshSeller();
      const payload = await signV2(payer, requirementsV2(fx.devnet, seller));
      const sentBefore = fx.facilitator.stats().transactionsSent;

      expect((await verify(v2Body(payload))).json).toStrictEqual({
        isValid: false,
        invalidReason: 'invalid_exact_evm_insufficient_balance',
        payer: payer.address,
      });
      expect((await settle(v2Body(payload))).json).toMatchObject({
        success: false,
        errorReason: 'invalid_exact_evm_insufficient_balance',
        transaction: '',
      });
      expect(await fx.devnet.usdcBalance(payer.address)).toBe(PRICE - 1n);
      // The official checks pass this payload (its signature is fine): the pre-check's gate held
      // the broadcast back, so no reverting transaction burnt gas.
      expect(fx.facilitator.stats().transactionsSent).toBe(sentBefore);
    });

    it('answers invalid_network for requirements on a chain it does not settle on', async () => {
      const [payer] = await fx.devnet.fundPayers(1, 1_000_000n);
      if (!payer) throw new Error('no payer');
      const seller = freshSeller();
      const requirements = requirementsV2(fx.devnet, seller, { network: 'eip155:8453' });
      const payload = v2Payload(requirements, await signAuthorization(payer, fx.devnet, { to: seller }));
      expect((await verify(v2Body(payload))).json).toStrictEqual({
        isValid: false,
        invalidReason: 'invalid_network',
        payer: payer.address,
      });
    });

    it('answers 400 for a malformed body over HTTP and settles nothing', async () => {
      const res = await fetch(`${fx.facilitator.url}/settle`, { method: 'POST', body: '{"paymentPayload":' });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({
        error: 'invalid_json',
        success: false,
        errorReason: 'invalid_json',
      });
    });
  });

  describe('official facilitator clients against the running service', () => {
    it('HTTPFacilitatorClient (v2) reads /supported, verifies and settles', async () => {
      const client = new HTTPFacilitatorClient({ url: fx.facilitator.url });
      const supported = await client.getSupported();
      expect(supported.kinds).toStrictEqual([
        { x402Version: 2, scheme: 'exact', network: 'eip155:84532' },
        {
          x402Version: 2,
          scheme: 'batch-settlement',
          network: 'eip155:84532',
          // The devnet receiver authorizer (account 4), offered by default on the devnet.
          extra: { receiverAuthorizer: '0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65' },
        },
        { x402Version: 1, scheme: 'exact', network: 'base-sepolia' },
      ]);
      expect(supported.signers).toStrictEqual({ 'eip155:*': [fx.facilitator.address] });

      const [payer] = await fx.devnet.fundPayers(1, 1_000_000n);
      if (!payer) throw new Error('no payer');
      const seller = freshSeller();
      const requirements = requirementsV2(fx.devnet, seller);
      const payload = await signV2(payer, requirements);
      expect(await client.verify(payload, requirements)).toStrictEqual({
        isValid: true,
        payer: payer.address,
      });
      const settled = await client.settle(payload, requirements);
      expect(settled).toMatchObject({ success: true, network: 'eip155:84532', payer: payer.address });
      expect(await fx.devnet.usdcBalance(seller)).toBe(PRICE);
    });

    it('v1 useFacilitator (x402/verify) reads /supported, verifies and settles', async () => {
      const client = useFacilitator({ url: fx.facilitator.url as `${string}://${string}` });
      const supported = await client.supported();
      expect(supported.kinds).toContainEqual({ x402Version: 1, scheme: 'exact', network: 'base-sepolia' });

      const [payer] = await fx.devnet.fundPayers(1, 1_000_000n);
      if (!payer) throw new Error('no payer');
      const seller = freshSeller();
      const requirements = requirementsV1(fx.devnet, seller);
      const payload = await signV1(payer, requirements);
      // biome-ignore lint/suspicious/noExplicitAny: the v1 client's payload type is a zod union we built by hand
      expect(await client.verify(payload as any, requirements)).toStrictEqual({
        isValid: true,
        payer: payer.address,
      });
      // biome-ignore lint/suspicious/noExplicitAny: as above
      const settled = await client.settle(payload as any, requirements);
      expect(settled).toMatchObject({ success: true, network: 'base-sepolia', payer: payer.address });
      expect(await fx.devnet.usdcBalance(seller)).toBe(PRICE);
    });
  });

  describe('RPC round trips', () => {
    it('settles a payment in about 2 HTTP requests to the RPC: pre-check batch, then send + receipt in one batch', async () => {
      const [payer] = await fx.devnet.fundPayers(1, 1_000_000n);
      if (!payer) throw new Error('no payer');
      const payload = await signV2(payer, requirementsV2(fx.devnet, freshSeller()));
      // Warm the fee cache and the asset-code cache, as on a running service.
      await verify(v2Body(payload));
      const before = fx.facilitator.stats();
      const settled = await settle(v2Body(payload));
      const after = fx.facilitator.stats();
      expect(settled.json.success).toBe(true);
      // Usually 2: the automining devnet answers the receipt in the send's batch. One more when the
      // 2 s fee cache expired, or when anvil had not mined yet under load and a poll was needed.
      const requests = after.httpRequests - before.httpRequests;
      const polls = after.receiptPolls - before.receiptPolls;
      expect(requests).toBeGreaterThanOrEqual(2);
      expect(requests).toBeLessThanOrEqual(3 + polls);
      expect(polls).toBeLessThanOrEqual(1);
    });
  });
});
