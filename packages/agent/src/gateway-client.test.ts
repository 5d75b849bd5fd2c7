import { describe, expect, it } from 'vitest';
import { GatewayError, readPurchasedImage } from './gateway-client.ts';

const TX = `0x${'ab'.repeat(32)}`;
const IMAGE_URL = 'https://images.example/images/3f1c2d4e?X-Amz-Signature=sig';
const PNG = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);

const answer = (image: Record<string, unknown>, overrides: Record<string, unknown> = {}) =>
  new Response(
    JSON.stringify({
      status: 'payment_settled',
      request_id: 'req-1',
      image_id: '3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f',
      message: 'Payment settled on Base Sepolia; image generated',
      transaction_hash: TX,
      payer: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
      amount: '0.06',
      atomic_amount: '60000',
      network: 'base-sepolia',
      explorer_url: `https://sepolia.basescan.org/tx/${TX}`,
      image,
      image_url: IMAGE_URL,
      ...overrides,
    }),
    { status: 200, headers: { 'content-type': 'application/json' } },
  );

/** A fetch that records its calls and answers from `routes` (404 elsewhere). */
function recordingFetch(routes: Record<string, () => Response>) {
  const calls: string[] = [];
  const fetchImpl = (async (input: string | URL | Request) => {
    const url = String(input instanceof Request ? input.url : input);
    calls.push(url);
    return routes[url]?.() ?? new Response('not found', { status: 404 });
  }) as typeof globalThis.fetch;
  return { calls, fetchImpl };
}

describe('readPurchasedImage', () => {
  it('takes the bytes from the 200 when it carries them, without fetching', async () => {
    const { calls, fetchImpl } = recordingFetch({});
    const base64 = Buffer.from(PNG).toString('base64');
    const image = await readPurchasedImage(answer({ mime_type: 'image/png', base64 }), fetchImpl);
    expect(image).toStrictEqual({
      imageId: '3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f',
      transactionHash: TX,
      mimeType: 'image/png',
      base64,
      url: IMAGE_URL,
      explorerUrl: `https://sepolia.basescan.org/tx/${TX}`,
    });
    expect(calls).toStrictEqual([]);
  });

  describe('when the 200 has no bytes (the cloud gateway: image_url only)', () => {
    it('fetches the image from its URL', async () => {
      const { calls, fetchImpl } = recordingFetch({
        [IMAGE_URL]: () => new Response(PNG, { headers: { 'content-type': 'image/png' } }),
      });
      const image = await readPurchasedImage(answer({ mime_type: 'image/png' }), fetchImpl);
      expect(calls).toStrictEqual([IMAGE_URL]);
      expect(image.base64).toBe(Buffer.from(PNG).toString('base64'));
      expect(image.fetchError).toBeUndefined();
    });

    it('keeps the purchase with its URL when the fetch fails (the payment is settled)', async () => {
      const { fetchImpl } = recordingFetch({});
      const image = await readPurchasedImage(answer({ mime_type: 'image/png' }), fetchImpl);
      expect(image).toMatchObject({ base64: undefined, url: IMAGE_URL, transactionHash: TX });
      expect(image.fetchError).toBe('the image URL answered 404');
    });
  });

  it.each([
    ['no image_url', answer({ mime_type: 'image/png' }, { image_url: undefined })],
    ['another status', answer({ mime_type: 'image/png' }, { status: 'ok' })],
    ['no JSON', new Response('<html>', { status: 200 })],
  ])('refuses a 200 with %s as invalid_gateway_response', async (_name, response) => {
    const { fetchImpl } = recordingFetch({});
    const error = await readPurchasedImage(response, fetchImpl).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(GatewayError);
    expect((error as GatewayError).code).toBe('invalid_gateway_response');
  });
});

describe('readPurchasedImage of a batch-settlement purchase', () => {
  const charged = (overrides: Record<string, unknown> = {}) =>
    new Response(
      JSON.stringify({
        status: 'payment_charged',
        scheme: 'batch-settlement',
        request_id: 'req-1',
        image_id: 'img-1',
        message: 'charged on the channel',
        payer: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
        amount: '0.04',
        atomic_amount: '40000',
        network: 'base-sepolia',
        channel_id: `0x${'cd'.repeat(32)}`,
        charged_cumulative_amount: '80000',
        image: { mime_type: 'image/png', base64: Buffer.from(PNG).toString('base64') },
        image_url: IMAGE_URL,
        ...overrides,
      }),
      { status: 200 },
    );

  it('reads the image of a voucher purchase, which has no transaction of its own', async () => {
    const { fetchImpl } = recordingFetch({});
    const image = await readPurchasedImage(charged(), fetchImpl, 'batch-settlement');
    expect([image.imageId, image.transactionHash, image.explorerUrl, image.url]).toStrictEqual([
      'img-1',
      undefined,
      undefined,
      IMAGE_URL,
    ]);
  });

  it('refuses a 200 that is not a channel charge', async () => {
    const { fetchImpl } = recordingFetch({});
    const error = await readPurchasedImage(
      charged({ status: 'payment_settled' }),
      fetchImpl,
      'batch-settlement',
    ).catch((caught: unknown) => caught);
    expect(error instanceof GatewayError && error.code).toBe('invalid_gateway_response');
  });
});
