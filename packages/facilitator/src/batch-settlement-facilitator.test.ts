import { signVoucher } from '@x402/evm/batch-settlement/client';
import { privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import {
  buildClaimBody,
  buildDepositBody,
  buildRefundBody,
  buildSettleBody,
  buildVoucherBody,
  CHANNEL_ID,
  DEVNET_AUTHORIZER,
  recordingSigner,
} from '../test/batch-builders.ts';
import { buildV2Body } from '../test/builders.ts';
import { createFacilitatorApp } from './facilitator-app.ts';
import { createMemoryLogger } from './logger.ts';
import { NETWORK_INFO } from './networks.ts';
import { type BatchSettlementParameters, createPaymentFacilitator } from './payment-facilitator.ts';

// anvil account 4, the devnet receiver authorizer.
const AUTHORIZER = privateKeyToAccount('0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a');
const TOKEN = 'gateway-token-0123456789';

function setup(
  batch: Partial<BatchSettlementParameters> | false = {},
  read?: (functionName: string) => Promise<unknown>,
) {
  const exact = recordingSigner();
  const bs = recordingSigner(read);
  const facilitator = createPaymentFacilitator({
    signer: exact.signer,
    network: NETWORK_INFO.devnet,
    ...(batch === false ? {} : { batchSettlement: { signer: bs.signer, ...batch } }),
  });
  const app = createFacilitatorApp({ facilitator, logger: createMemoryLogger() });
  const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
    const res = await app.request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };
  return { app, facilitator, post, writes: () => [...exact.writes, ...bs.writes], reads: bs.reads };
}

describe('the batch-settlement scheme', () => {
  describe('GET /supported', () => {
    it('lists batch-settlement v2 beside exact, with the receiver authorizer in extra', async () => {
      const { app } = setup({ receiverAuthorizer: AUTHORIZER });
      const res = await app.request('/supported');
      expect(await res.json()).toStrictEqual({
        kinds: [
          { x402Version: 2, scheme: 'exact', network: 'eip155:84532' },
          {
            x402Version: 2,
            scheme: 'batch-settlement',
            network: 'eip155:84532',
            extra: { receiverAuthorizer: DEVNET_AUTHORIZER },
          },
          { x402Version: 1, scheme: 'exact', network: 'base-sepolia' },
        ],
        extensions: [],
        signers: { 'eip155:*': ['0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC'] },
      });
    });

    it('lists it without extra when the facilitator holds no receiver authorizer', async () => {
      const { facilitator } = setup();
      expect(
        facilitator.supported().kinds.filter((kind) => kind.scheme === 'batch-settlement'),
      ).toStrictEqual([{ x402Version: 2, scheme: 'batch-settlement', network: 'eip155:84532' }]);
    });

    it('does not list it when turned off, and answers unsupported_scheme without touching the chain', async () => {
      const { facilitator, post, writes } = setup(false);
      expect(facilitator.supported().kinds.map((kind) => kind.scheme)).toStrictEqual(['exact', 'exact']);
      expect((await post('/verify', buildDepositBody())).json).toStrictEqual({
        isValid: false,
        invalidReason: 'unsupported_scheme',
      });
      expect((await post('/settle', buildDepositBody())).json).toMatchObject({
        success: false,
        errorReason: 'unsupported_scheme',
      });
      expect(writes()).toStrictEqual([]);
    });
  });

  describe('request parsing', () => {
    const permit2 = buildDepositBody();
    const deposit = permit2.paymentPayload.payload as Record<string, unknown>;
    const cases: Array<[string, unknown]> = [
      [
        'a Permit2 deposit (this facilitator sponsors ERC-3009 deposits only)',
        {
          ...permit2,
          paymentPayload: {
            ...permit2.paymentPayload,
            payload: { ...deposit, deposit: { amount: '1', authorization: { permit2Authorization: {} } } },
          },
        },
      ],
      [
        'an unknown field in the payload',
        { ...permit2, paymentPayload: { ...permit2.paymentPayload, payload: { ...deposit, extraField: 1 } } },
      ],
      [
        'an amount above uint128',
        {
          ...permit2,
          paymentPayload: {
            ...permit2.paymentPayload,
            payload: {
              ...deposit,
              deposit: { ...(deposit.deposit as object), amount: (2n ** 128n).toString() },
            },
          },
        },
      ],
      [
        'an unknown payload type',
        { ...permit2, paymentPayload: { ...permit2.paymentPayload, payload: { type: 'withdraw' } } },
      ],
      [
        'an empty claim',
        (() => {
          const claim = buildClaimBody();
          return {
            ...claim,
            paymentPayload: { ...claim.paymentPayload, payload: { type: 'claim', claims: [] } },
          };
        })(),
      ],
    ];
    it.each(cases)('answers 400 invalid_request for %s and sends nothing', async (_, input) => {
      const { post, writes, reads } = setup();
      for (const route of ['/verify', '/settle']) {
        const { status, json } = await post(route, input);
        expect(status).toBe(400);
        expect(json.error).toBe('invalid_request');
      }
      expect(writes()).toStrictEqual([]);
      expect(reads).toStrictEqual([]);
    });

    it("accepts the channel manager's requirements (amount 0, maxTimeoutSeconds 0, empty extra)", async () => {
      const { post } = setup();
      const { status } = await post('/settle', buildSettleBody());
      expect(status).toBe(200);
    });

    it('still routes exact bodies to the exact scheme', async () => {
      const { post } = setup();
      const { status, json } = await post('/verify', buildV2Body());
      expect(status).toBe(200);
      expect(json.invalidReason).not.toBe('unsupported_scheme');
    });
  });

  describe('refusals that send nothing', () => {
    it('refuses a requirements network it does not serve', async () => {
      const { post, writes } = setup();
      expect((await post('/verify', buildDepositBody({ network: 'eip155:8453' }))).json).toStrictEqual({
        isValid: false,
        invalidReason: 'invalid_network',
        payer: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
      });
      expect((await post('/settle', buildDepositBody({ network: 'eip155:8453' }))).json).toStrictEqual({
        success: false,
        errorReason: 'invalid_network',
        transaction: '',
        network: 'eip155:8453',
        payer: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
      });
      expect(writes()).toStrictEqual([]);
    });

    it('refuses a settle whose accepted network differs from the requirements', async () => {
      const { post, writes } = setup();
      expect(
        (await post('/settle', buildDepositBody({ acceptedNetwork: 'eip155:8453' }))).json,
      ).toMatchObject({
        success: false,
        errorReason: 'invalid_batch_settlement_evm_network_mismatch',
      });
      expect(writes()).toStrictEqual([]);
    });

    it('never settles a bare voucher or an uncompleted refund on chain', async () => {
      const { post, writes } = setup();
      const refund = buildRefundBody();
      const {
        amount: _a,
        refundNonce: _n,
        claims: _c,
        ...bare
      } = refund.paymentPayload.payload as Record<string, unknown>;
      const bareRefund = { ...refund, paymentPayload: { ...refund.paymentPayload, payload: bare } };
      for (const input of [buildVoucherBody(), bareRefund]) {
        expect((await post('/settle', input)).json).toMatchObject({
          success: false,
          errorReason: 'invalid_batch_settlement_evm_payload_type',
          transaction: '',
        });
      }
      expect(writes()).toStrictEqual([]);
    });

    it('never verifies a claim or settle operation as a payment', async () => {
      const { post } = setup();
      for (const input of [buildClaimBody(), buildSettleBody()]) {
        expect((await post('/verify', input)).json).toStrictEqual({
          isValid: false,
          invalidReason: 'invalid_batch_settlement_evm_payload_type',
        });
      }
    });

    it("refuses a deposit whose signatures are not the payer's: the scheme's reason, no transaction", async () => {
      const { post, writes } = setup();
      const verified = await post('/verify', buildDepositBody());
      expect(verified.json).toMatchObject({
        isValid: false,
        invalidReason: 'invalid_batch_settlement_evm_receive_authorization_signature',
      });
      const settled = await post('/settle', buildDepositBody());
      expect(settled.json).toMatchObject({
        success: false,
        errorReason: 'invalid_batch_settlement_evm_receive_authorization_signature',
        transaction: '',
      });
      expect(writes()).toStrictEqual([]);
    });

    it('refuses a deposit for another receiver authorizer than the requirements name', async () => {
      const { post, writes } = setup();
      const other = buildDepositBody({
        channelConfig: { receiverAuthorizer: '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC' },
      });
      // The channel id no longer matches the config either; the config check comes first.
      expect((await post('/settle', other)).json).toMatchObject({
        success: false,
        errorReason: 'invalid_batch_settlement_evm_channel_id_mismatch',
      });
      expect(writes()).toStrictEqual([]);
    });

    it('answers a chain that cannot be read as unexpected_verify_error', async () => {
      const { post } = setup({}, async () => {
        throw new Error('fetch failed');
      });
      const body = buildVoucherBody();
      // A voucher really signed by the payer (anvil account 1), so the scheme goes on to read the chain.
      const payer = privateKeyToAccount('0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d');
      const voucher = await signVoucher(payer, CHANNEL_ID, '80000', 'eip155:84532');
      const signed = {
        ...body,
        paymentPayload: { ...body.paymentPayload, payload: { ...body.paymentPayload.payload, voucher } },
      };
      expect((await post('/verify', signed)).json).toStrictEqual({
        isValid: false,
        invalidReason: 'unexpected_verify_error',
        invalidMessage: 'fetch failed',
        payer: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
      });
    });
  });

  describe('delegated receiver-authorizer signatures', () => {
    it('answers 401 unauthorized for a claim or refund it would sign, without a token', async () => {
      const { post, writes, reads } = setup({ receiverAuthorizer: AUTHORIZER, authorizerTokens: [TOKEN] });
      for (const input of [buildClaimBody(), buildRefundBody()]) {
        const { status, json } = await post('/settle', input);
        expect(status).toBe(401);
        expect(json).toMatchObject({
          error: 'unauthorized',
          success: false,
          errorReason: 'unauthorized',
          transaction: '',
        });
      }
      const wrong = await post('/settle', buildClaimBody(), { authorization: 'Bearer not-the-token-at-all' });
      expect(wrong.status).toBe(401);
      expect(writes()).toStrictEqual([]);
      expect(reads).toStrictEqual([]);
    });

    it('goes on with a valid token (here the claim simulation reverts: nothing is sent)', async () => {
      const { post, writes } = setup({ receiverAuthorizer: AUTHORIZER, authorizerTokens: [TOKEN] });
      const { status, json } = await post('/settle', buildClaimBody(), { authorization: `Bearer ${TOKEN}` });
      expect(status).toBe(200);
      expect(json).toMatchObject({
        success: false,
        errorReason: 'invalid_batch_settlement_evm_claim_simulation_failed',
        transaction: '',
      });
      expect(writes()).toStrictEqual([]);
    });

    it('needs no token when the server brings the authorizer signatures', async () => {
      const { post } = setup({ receiverAuthorizer: AUTHORIZER, authorizerTokens: [TOKEN] });
      const claim = await post(
        '/settle',
        buildClaimBody({ claimAuthorizerSignature: `0x${'ab'.repeat(65)}` }),
      );
      expect(claim.status).toBe(200);
      const refund = await post('/settle', buildRefundBody({ signed: true }));
      expect(refund.status).toBe(200);
    });

    it('answers authorizer_not_configured when it holds no authorizer key', async () => {
      const { post, writes } = setup();
      expect((await post('/settle', buildClaimBody())).json).toMatchObject({
        success: false,
        errorReason: 'invalid_batch_settlement_evm_authorizer_not_configured',
      });
      expect(writes()).toStrictEqual([]);
    });

    it('refuses to be built with an authorizer but no tokens on a public network', () => {
      expect(() =>
        createPaymentFacilitator({
          signer: recordingSigner().signer,
          network: NETWORK_INFO['base-sepolia'],
          batchSettlement: { signer: recordingSigner().signer, receiverAuthorizer: AUTHORIZER },
        }),
      ).toThrow(/authorizer tokens/);
    });
  });

  describe('one operation at a time per channel', () => {
    it('answers channel_busy to a second operation on a channel while the first is in flight', async () => {
      let release: () => void = () => {};
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      const { post, writes } = setup({ receiverAuthorizer: AUTHORIZER }, async () => {
        await gate;
        throw new Error('execution reverted');
      });
      const first = post('/settle', buildClaimBody());
      await new Promise((resolve) => setTimeout(resolve, 20));
      const second = await post('/settle', buildRefundBody());
      expect(second.json).toMatchObject({
        success: false,
        errorReason: 'invalid_batch_settlement_evm_channel_busy',
        transaction: '',
      });
      release();
      expect((await first).json).toMatchObject({
        errorReason: 'invalid_batch_settlement_evm_claim_simulation_failed',
      });
      // Free again once the first finished.
      expect((await post('/settle', buildRefundBody())).json.errorReason).not.toBe(
        'invalid_batch_settlement_evm_channel_busy',
      );
      expect(writes()).toStrictEqual([]);
      expect(CHANNEL_ID).toMatch(/^0x[0-9a-f]{64}$/);
    });
  });
});
