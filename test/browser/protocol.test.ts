import { describe, expect, it } from 'vitest';
import { explorerLink, parseServerFrame, safeUrl } from '../../frontend/src/protocol.ts';

const TX = `0x${'ab'.repeat(32)}`;

describe('the chat page protocol (frontend/src/protocol.ts)', () => {
  it('parses a complete frame into text, images, receipts and wallet', () => {
    const frame = parseServerFrame(
      JSON.stringify({
        type: 'complete',
        sessionId: 's1',
        response: {
          output: {
            message: { role: 'assistant', content: [{ text: 'one' }, { text: 'two' }] },
            images: { a: 'https://bucket.example/a.png?X-Amz-Signature=1', b: 'javascript:alert(1)' },
            payments: [
              {
                transaction_hash: TX,
                amount: '0.04',
                network: 'base-sepolia',
                explorer_url: `https://sepolia.basescan.org/tx/${TX}`,
              },
            ],
            wallet: { address: '0x1', network: 'base-sepolia', chain_id: 84532, eth: '1', usdc: '9.96' },
          },
        },
      }),
    );
    expect(frame).toStrictEqual({
      type: 'complete',
      sessionId: 's1',
      turn: {
        text: 'one\ntwo',
        images: [{ id: 'a', url: 'https://bucket.example/a.png?X-Amz-Signature=1' }],
        payments: [
          {
            transactionHash: TX,
            amount: '0.04',
            network: 'base-sepolia',
            networkName: 'base-sepolia',
            explorerUrl: `https://sepolia.basescan.org/tx/${TX}`,
            imageId: undefined,
          },
        ],
        wallet: {
          address: '0x1',
          network: 'base-sepolia',
          networkName: 'base-sepolia',
          chainId: 84532,
          eth: '1',
          usdc: '9.96',
        },
        session: undefined,
        model: undefined,
      },
    });
  });

  it("reads the wallet's 24-hour budget when the agent sends it", () => {
    const wallet = { address: '0x1', network: 'base-sepolia', budget_24h: '5', spent_24h: '0.08' };
    const frame = parseServerFrame(
      JSON.stringify({
        type: 'complete',
        response: { output: { message: { role: 'assistant', content: [{ text: 'Your wallet' }] }, wallet } },
      }),
    );
    if (frame?.type !== 'complete') throw new Error(`not a complete frame: ${JSON.stringify(frame)}`);
    expect(frame.turn.wallet).toMatchObject({
      budget24h: '5',
      spent24h: '0.08',
    });
  });

  it('shows display names, the session spend, and no receipt URL inside the text', () => {
    const url = `http://127.0.0.1:4000/tx/${TX}`;
    const receipt = {
      transaction_hash: TX,
      amount: '0.04',
      atomic_amount: '40000',
      network: 'base-sepolia',
      network_name: 'Local devnet — Base Sepolia stand-in (chain 84532)',
      explorer_url: url,
    };
    const frame = parseServerFrame(
      JSON.stringify({
        type: 'complete',
        response: {
          output: {
            message: { role: 'assistant', content: [{ text: `Paid.\n- Transaction: ${TX}\n  ${url}` }] },
            payments: [receipt],
            session: {
              payments: [receipt],
              payment_count: 3,
              spent: '0.12',
              spent_atomic: '120000',
              budget: '1',
              budget_atomic: '1000000',
            },
          },
        },
      }),
    );
    if (frame?.type !== 'complete') throw new Error(`not a complete frame: ${JSON.stringify(frame)}`);
    expect(frame.turn.text).toBe('Paid.');
    expect(frame.turn.payments.map((p) => p.networkName)).toStrictEqual([
      'Local devnet — Base Sepolia stand-in (chain 84532)',
    ]);
    expect(frame.turn.session).toStrictEqual({
      payments: frame.turn.payments,
      paymentCount: 3,
      spent: '0.12',
      budget: '1',
    });
  });

  it('reads a payment session: deposit and voucher receipts, and the channel balance', () => {
    const CHANNEL = `0x${'cd'.repeat(32)}`;
    const deposit = {
      kind: 'deposit',
      transaction_hash: TX,
      amount: '1',
      network: 'base-sepolia',
      channel_id: CHANNEL,
    };
    const voucher = {
      kind: 'voucher',
      amount: '0.04',
      network: 'base-sepolia',
      image_id: 'i1',
      channel_id: CHANNEL,
    };
    const frame = parseServerFrame(
      JSON.stringify({
        type: 'complete',
        response: {
          output: {
            message: { role: 'assistant', content: [{ text: 'ok' }] },
            payments: [deposit, voucher],
            session: {
              payments: [deposit, voucher],
              payment_count: 2,
              spent: '0.04',
              spent_atomic: '40000',
              budget: '1',
              budget_atomic: '1000000',
              payment_scheme: 'batch-settlement',
              channel: {
                channel_id: CHANNEL,
                status: 'open',
                deposited: '1',
                deposited_atomic: '1000000',
                charged: '0.04',
                charged_atomic: '40000',
                refunded: '0',
                refunded_atomic: '0',
                remaining: '0.96',
                remaining_atomic: '960000',
              },
            },
          },
        },
      }),
    );
    if (frame?.type !== 'complete') throw new Error(`not a complete frame: ${JSON.stringify(frame)}`);
    const receipts = [
      {
        kind: 'deposit',
        transactionHash: TX,
        amount: '1',
        network: 'base-sepolia',
        networkName: 'base-sepolia',
        explorerUrl: undefined,
        imageId: undefined,
      },
      {
        kind: 'voucher',
        amount: '0.04',
        network: 'base-sepolia',
        networkName: 'base-sepolia',
        explorerUrl: undefined,
        imageId: 'i1',
      },
    ];
    expect(frame.turn.payments).toStrictEqual(receipts);
    expect(frame.turn.session).toStrictEqual({
      payments: receipts,
      paymentCount: 2,
      spent: '0.04',
      budget: '1',
      paymentScheme: 'batch-settlement',
      channel: { status: 'open', deposited: '1', charged: '0.04', refunded: '0', remaining: '0.96' },
    });
    // A voucher has no transaction, so no explorer link.
    expect(
      explorerLink(receipts[1] as Parameters<typeof explorerLink>[0], 'http://127.0.0.1:9'),
    ).toBeUndefined();
  });

  it('turns a reply that breaks the contract into an error, never a half-read receipt', () => {
    const frame = parseServerFrame(
      JSON.stringify({
        type: 'complete',
        sessionId: 's1',
        response: {
          output: {
            message: { role: 'assistant', content: [{ text: 'paid' }] },
            payments: [{ transaction_hash: 'not-a-hash', amount: '1', network: 'base-sepolia' }],
          },
        },
      }),
    );
    expect(frame).toMatchObject({ type: 'error', code: 'invalid_response', sessionId: 's1' });
  });

  it('turns error frames and API Gateway failures into errors, and ignores garbage', () => {
    expect(parseServerFrame('{"type":"error","code":"prompt_too_long","message":"too long"}')).toStrictEqual({
      type: 'error',
      code: 'prompt_too_long',
      message: 'too long',
      sessionId: undefined,
    });
    expect(parseServerFrame('{"message":"Internal server error","connectionId":"x"}')).toStrictEqual({
      type: 'error',
      code: 'gateway_error',
      message: 'Internal server error',
    });
    expect(parseServerFrame('not json')).toBeUndefined();
    expect(parseServerFrame('[1,2]')).toBeUndefined();
  });

  it('links receipts to their explorer URL, else the configured explorer, else BaseScan', () => {
    const receipt = { transactionHash: TX, amount: '0.04', network: 'base-sepolia', networkName: 'x' };
    expect(explorerLink({ ...receipt, explorerUrl: `http://127.0.0.1:4000/tx/${TX}` }, undefined)).toBe(
      `http://127.0.0.1:4000/tx/${TX}`,
    );
    expect(explorerLink(receipt, 'http://127.0.0.1:4000/')).toBe(`http://127.0.0.1:4000/tx/${TX}`);
    expect(explorerLink(receipt, undefined)).toBe(`https://sepolia.basescan.org/tx/${TX}`);
    expect(explorerLink({ ...receipt, network: 'unknown' }, undefined)).toBeUndefined();
  });

  it('only lets http(s) URLs through', () => {
    expect(safeUrl('https://x.example/a')).toBe('https://x.example/a');
    expect(safeUrl('javascript:alert(1)')).toBeUndefined();
    expect(safeUrl('data:image/png;base64,AAAA')).toBeUndefined();
    expect(safeUrl(42)).toBeUndefined();
  });
});
