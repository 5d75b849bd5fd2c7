import { describe, expect, it } from 'vitest';
import { ChannelPurchaseResponse, GenerateImageResponse } from './generate-image-response.ts';

const answer = (overrides: Record<string, unknown> = {}) => ({
  status: 'payment_settled',
  request_id: 'req-1',
  image_id: '3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f',
  message: 'Payment settled on Base Sepolia; image generated',
  transaction_hash: `0x${'ab'.repeat(32)}`,
  payer: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
  amount: '0.06',
  atomic_amount: '60000',
  network: 'base-sepolia',
  explorer_url: `https://sepolia.basescan.org/tx/0x${'ab'.repeat(32)}`,
  image: { mime_type: 'image/png' },
  image_url: 'https://images.s3.amazonaws.com/images/3f1c2d4e?X-Amz-Signature=x',
  ...overrides,
});

describe('GenerateImageResponse', () => {
  it('accepts the URL-only answer (the cloud’s) and the inline one', () => {
    expect(GenerateImageResponse.parse(answer())).toStrictEqual(answer());
    const inline = answer({ image: { mime_type: 'image/png', base64: 'iVBORw0KGgo=' } });
    expect(GenerateImageResponse.parse(inline)).toStrictEqual(inline);
  });

  it('drops fields it does not know (a newer gateway still parses)', () => {
    expect(GenerateImageResponse.parse({ ...answer(), extra: 1 })).toStrictEqual(answer());
  });

  it.each([
    ['another status', { status: 'ok' }],
    ['no image_url', { image_url: undefined }],
    ['a non-http image_url', { image_url: 'file:///etc/passwd' }],
    ['a malformed transaction hash', { transaction_hash: '0x12' }],
    ['a non-integer atomic amount', { atomic_amount: '0.06' }],
    ['a non-image mime type', { image: { mime_type: 'text/html' } }],
  ])('refuses %s', (_name, overrides) => {
    expect(GenerateImageResponse.safeParse(answer(overrides)).success).toBe(false);
  });
});

describe('ChannelPurchaseResponse', () => {
  const charged = (overrides: Record<string, unknown> = {}) => ({
    status: 'payment_charged',
    scheme: 'batch-settlement',
    request_id: 'req-2',
    image_id: '3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f',
    message: 'Charged 0.04 USDC to payment channel',
    payer: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
    amount: '0.04',
    atomic_amount: '40000',
    network: 'base-sepolia',
    channel_id: `0x${'cd'.repeat(32)}`,
    charged_cumulative_amount: '80000',
    image: { mime_type: 'image/png' },
    image_url: 'https://images.s3.amazonaws.com/images/3f1c2d4e?X-Amz-Signature=x',
    ...overrides,
  });

  it('accepts a voucher purchase (no transaction) and a deposit purchase (its transaction)', () => {
    expect(ChannelPurchaseResponse.parse(charged())).toStrictEqual(charged());
    const deposit = charged({
      deposit_transaction_hash: `0x${'ab'.repeat(32)}`,
      explorer_url: `https://sepolia.basescan.org/tx/0x${'ab'.repeat(32)}`,
    });
    expect(ChannelPurchaseResponse.parse(deposit)).toStrictEqual(deposit);
  });

  it.each([
    ['the exact status', { status: 'payment_settled' }],
    ['another scheme', { scheme: 'exact' }],
    ['no channel id', { channel_id: undefined }],
    ['a malformed deposit hash', { deposit_transaction_hash: '0x12' }],
    ['a fractional cumulative charge', { charged_cumulative_amount: '0.08' }],
  ])('refuses %s', (_name, overrides) => {
    expect(ChannelPurchaseResponse.safeParse(charged(overrides)).success).toBe(false);
  });
});
