import { describe, expect, it } from 'vitest';
import {
  AgentInvocationResponse,
  AgentOutput,
  agentReplyText,
  CompleteFrame,
  textWithoutReceiptUrls,
} from './agent-output.ts';

const TX = `0x${'ab'.repeat(32)}`;
const URL = `http://127.0.0.1:4000/tx/${TX}`;

const receipt = {
  transaction_hash: TX,
  amount: '0.04',
  atomic_amount: '40000',
  network: 'base-sepolia',
  network_name: 'Local devnet — Base Sepolia stand-in (chain 84532)',
  explorer_url: URL,
  image_id: 'img-1',
  request_id: 'req-1',
  paid_at: '2026-01-01T00:00:00.000Z',
};

describe('AgentOutput', () => {
  it('accepts the design card reply of an older agent (no payments, wallet or session)', () => {
    const output = {
      message: { role: 'assistant', content: [{ text: 'hi' }] },
      timestamp: '2026-01-01T00:00:00.000Z',
      model: 'offline-planner',
      session_id: 's1',
      images: {},
    };
    expect(AgentInvocationResponse.parse({ output })).toStrictEqual({ output });
  });

  it('accepts a reply with receipts, wallet and the session spend, and keeps unknown fields', () => {
    const output = {
      message: { role: 'assistant', content: [{ text: 'paid' }] },
      images: { 'img-1': 'https://bucket.example/a.png' },
      payments: [receipt],
      wallet: { address: '0x1', network: 'base-sepolia', network_name: 'x', chain_id: 84532 },
      session: {
        payments: [receipt],
        payment_count: 1,
        spent: '0.04',
        spent_atomic: '40000',
        budget: '1',
        budget_atomic: '1000000',
      },
      later_field: 1,
    };
    expect(AgentOutput.parse(output)).toStrictEqual(output);
  });

  it('rejects a receipt without a transaction hash, and a float atomic amount', () => {
    const base = { message: { role: 'assistant', content: [] } };
    expect(
      AgentOutput.safeParse({ ...base, payments: [{ ...receipt, transaction_hash: 'nope' }] }).success,
    ).toBe(false);
    expect(
      AgentOutput.safeParse({ ...base, payments: [{ ...receipt, atomic_amount: '0.04' }] }).success,
    ).toBe(false);
    expect(AgentOutput.safeParse({ message: { content: [] } }).success).toBe(false);
  });

  describe('a batch-settlement session', () => {
    const CHANNEL = `0x${'cd'.repeat(32)}`;
    const channelReceipt = {
      network: 'base-sepolia',
      channel_id: CHANNEL,
      paid_at: '2026-01-01T00:00:00.000Z',
    };
    const deposit = {
      ...channelReceipt,
      kind: 'deposit',
      transaction_hash: TX,
      amount: '1',
      atomic_amount: '1000000',
    };
    const voucher = {
      ...channelReceipt,
      kind: 'voucher',
      amount: '0.04',
      atomic_amount: '40000',
      cumulative_atomic: '40000',
      image_id: 'img-1',
    };
    const refund = {
      ...channelReceipt,
      kind: 'refund',
      transaction_hash: TX,
      amount: '0.96',
      atomic_amount: '960000',
    };
    const channel = {
      channel_id: CHANNEL,
      status: 'closed',
      deposited: '1',
      deposited_atomic: '1000000',
      charged: '0.04',
      charged_atomic: '40000',
      refunded: '0.96',
      refunded_atomic: '960000',
      remaining: '0',
      remaining_atomic: '0',
      deposit_transaction: TX,
      refund_transaction: TX,
    };

    it('accepts the deposit, a voucher without a transaction, the refund and the channel balance', () => {
      const output = {
        message: { role: 'assistant', content: [] },
        payments: [deposit, voucher, refund],
        session: {
          payments: [deposit, voucher, refund],
          payment_count: 3,
          spent: '0.04',
          spent_atomic: '40000',
          budget: '1',
          budget_atomic: '1000000',
          payment_scheme: 'batch-settlement',
          channel,
        },
      };
      expect(AgentOutput.parse(output)).toStrictEqual(output);
    });

    it('requires a transaction hash on every receipt but a voucher', () => {
      const base = { message: { role: 'assistant', content: [] } };
      const { transaction_hash: _deposit, ...depositWithout } = deposit;
      const { transaction_hash: _exact, ...exactWithout } = receipt;
      expect(AgentOutput.safeParse({ ...base, payments: [depositWithout] }).success).toBe(false);
      expect(AgentOutput.safeParse({ ...base, payments: [exactWithout] }).success).toBe(false);
      expect(AgentOutput.safeParse({ ...base, payments: [{ ...voucher, kind: 'claim' }] }).success).toBe(
        false,
      );
    });

    it('rejects a channel balance with a float amount or an unknown status', () => {
      const session = {
        payments: [],
        payment_count: 0,
        spent: '0',
        spent_atomic: '0',
        budget: '1',
        budget_atomic: '1000000',
      };
      const base = { message: { role: 'assistant', content: [] } };
      expect(
        AgentOutput.safeParse({
          ...base,
          session: { ...session, channel: { ...channel, remaining_atomic: '0.5' } },
        }).success,
      ).toBe(false);
      expect(
        AgentOutput.safeParse({
          ...base,
          session: { ...session, channel: { ...channel, status: 'settling' } },
        }).success,
      ).toBe(false);
    });
  });

  it('reads the complete frame', () => {
    const frame = {
      type: 'complete',
      sessionId: 's1',
      response: { output: { message: { role: 'assistant', content: [{ text: 'a' }, { text: 'b' }] } } },
    };
    const parsed = CompleteFrame.parse(frame);
    expect(agentReplyText(parsed.response.output)).toBe('a\nb');
    expect(CompleteFrame.safeParse({ ...frame, type: 'error' }).success).toBe(false);
  });
});

describe('textWithoutReceiptUrls', () => {
  it('drops the lines that only carried a shown receipt hash or explorer link', () => {
    const text = ['Paid.', `- Transaction: ${TX}`, `  ${URL}`, 'Enjoy.'].join('\n');
    expect(textWithoutReceiptUrls(text, [receipt])).toBe(['Paid.', 'Enjoy.'].join('\n'));
    expect(textWithoutReceiptUrls(`See it (${URL})`, [receipt])).toBe('');
  });

  it('keeps sentences, with the hash shortened and the link gone', () => {
    expect(textWithoutReceiptUrls(`Settled in ${TX} on the devnet, see ${URL}.`, [receipt])).toBe(
      'Settled in 0xabababab…abababab on the devnet, see .',
    );
  });

  it('keeps other links and text, and everything when no receipt is shown', () => {
    const text = `See https://example.com and ${URL}`;
    expect(textWithoutReceiptUrls(text, [])).toBe(text);
    expect(textWithoutReceiptUrls(text, [receipt])).toBe('See https://example.com and');
  });
});
