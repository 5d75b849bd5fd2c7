import { AppError, type NetworkInfo } from '@agentic-payments/x402';
import { x402Client, x402HTTPClient } from '@x402/core/client';
import { z } from 'zod';

export interface ImageOrder {
  request_id: string;
  prompt: string;
  size: '1024x1024' | '2048x2048';
  quality: 'standard' | 'premium';
}

export interface Quote {
  amount: bigint;
  payTo: string;
  asset: string;
  network: string;
}

/** The gateway answered with an error (its wire `code`, upstream `status`) or could not be read. */
export class GatewayError extends AppError {
  override name = 'GatewayError';
  constructor(
    code: string,
    message: string,
    readonly status?: number,
  ) {
    super(code, message, { httpStatus: 502 });
  }
}

const httpClient = new x402HTTPClient(new x402Client());

async function readJson(response: Response): Promise<unknown> {
  const text = await response.text();
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Asks the seller for its price: the unpaid request answers 402 with the requirements (v2
 * `PAYMENT-REQUIRED` header, or the v1 body), parsed by the official x402 HTTP client.
 */
export async function requestQuote(
  fetchImpl: typeof globalThis.fetch,
  gatewayUrl: string,
  order: ImageOrder,
  network: NetworkInfo,
): Promise<Quote> {
  let response: Response;
  try {
    response = await fetchImpl(`${gatewayUrl}/generate_image`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(order),
    });
  } catch (error) {
    throw new GatewayError(
      'gateway_unreachable',
      `the image gateway at ${gatewayUrl} is unreachable: ${String(error)}`,
    );
  }
  const body = await readJson(response);
  if (response.status !== 402) {
    throw new GatewayError(
      'unexpected_gateway_response',
      `expected 402 with a price, got ${response.status}`,
      response.status,
    );
  }
  let required: ReturnType<typeof httpClient.getPaymentRequiredResponse>;
  try {
    required = httpClient.getPaymentRequiredResponse((name) => response.headers.get(name), body);
  } catch (error) {
    throw new GatewayError(
      'invalid_payment_requirements',
      `the gateway's 402 could not be parsed: ${String(error)}`,
    );
  }
  for (const accept of required.accepts) {
    const raw = accept as unknown as Record<string, unknown>;
    const amount = raw.amount ?? raw.maxAmountRequired;
    if (accept.scheme !== 'exact') continue;
    const acceptNetwork: string = accept.network;
    if (acceptNetwork !== network.caip2 && acceptNetwork !== network.v1Name) continue;
    if (typeof amount !== 'string' || !/^\d+$/.test(amount)) continue;
    return { amount: BigInt(amount), payTo: accept.payTo, asset: accept.asset, network: accept.network };
  }
  throw new GatewayError(
    'no_matching_requirements',
    `the gateway offers no exact payment on ${network.displayName}`,
  );
}

const GatewayImageResponse = z
  .object({
    request_id: z.string().optional(),
    image_id: z.string().optional(),
    transaction_hash: z.string().optional(),
    image_base64: z.string().optional(),
    image: z
      .union([
        z.string(),
        z
          .object({
            base64: z.string().optional(),
            url: z.string().optional(),
            mime_type: z.string().optional(),
          })
          .loose(),
      ])
      .optional(),
    image_url: z.string().optional(),
    url: z.string().optional(),
    mime_type: z.string().optional(),
    explorer_url: z.string().optional(),
  })
  .loose();

export interface PurchasedImage {
  imageId: string | undefined;
  transactionHash: string | undefined;
  mimeType: string;
  base64: string | undefined;
  url: string | undefined;
  explorerUrl: string | undefined;
}

/** Reads the gateway's 200 (the seed's fields plus the image) into what the agent stores. */
export async function readPurchasedImage(response: Response): Promise<PurchasedImage> {
  const body = await readJson(response);
  const parsed = GatewayImageResponse.safeParse(body);
  if (!parsed.success)
    throw new GatewayError('invalid_gateway_response', 'the gateway answered 200 without a JSON body');
  const data = parsed.data;
  let base64 = data.image_base64;
  let mimeType = data.mime_type;
  let url = data.image_url ?? data.url;
  if (typeof data.image === 'string') {
    if (data.image.startsWith('data:')) base64 = data.image.slice(data.image.indexOf(',') + 1);
    else if (/^https?:\/\//.test(data.image)) url = data.image;
    else base64 = data.image;
  } else if (data.image) {
    base64 = base64 ?? data.image.base64;
    url = url ?? data.image.url;
    mimeType = mimeType ?? data.image.mime_type;
  }
  if (!base64 && !url)
    throw new GatewayError('invalid_gateway_response', 'the gateway answered 200 without an image');
  return {
    imageId: data.image_id,
    transactionHash: data.transaction_hash,
    mimeType: mimeType ?? 'image/png',
    base64,
    url,
    explorerUrl: data.explorer_url,
  };
}
