import {
  AppError,
  ChannelPurchaseResponse,
  GenerateImageResponse,
  type NetworkInfo,
} from '@agentic-payments/x402';
import { x402Client, x402HTTPClient } from '@x402/core/client';
import type { z } from 'zod';

export interface ImageOrder {
  request_id: string;
  prompt: string;
  size: '1024x1024' | '2048x2048';
  quality: 'standard' | 'premium';
}

/** The `POST /generate_image` request for `order` (the quote's unpaid request and the paid one alike). */
export function orderRequest(order: ImageOrder): RequestInit {
  const { request_id, prompt, size, quality } = order;
  return {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ request_id, prompt, size, quality }),
  };
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
  scheme: 'exact' | 'batch-settlement' = 'exact',
): Promise<Quote> {
  let response: Response;
  try {
    response = await fetchImpl(`${gatewayUrl}/generate_image`, orderRequest(order));
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
    if (accept.scheme !== scheme) continue;
    const acceptNetwork: string = accept.network;
    if (acceptNetwork !== network.caip2 && acceptNetwork !== network.v1Name) continue;
    if (typeof amount !== 'string' || !/^\d+$/.test(amount)) continue;
    return { amount: BigInt(amount), payTo: accept.payTo, asset: accept.asset, network: accept.network };
  }
  throw new GatewayError(
    'no_matching_requirements',
    `the gateway offers no ${scheme} payment on ${network.displayName}`,
  );
}

export interface PurchasedImage {
  imageId: string;
  /** The settlement's transaction (exact); a channel purchase has none of its own. */
  transactionHash: string | undefined;
  mimeType: string;
  /** The bytes: from the 200 when it carried them, else fetched from `url`. */
  base64: string | undefined;
  /** Where the seller serves the image (a presigned S3 URL in the cloud); expires. */
  url: string;
  explorerUrl: string | undefined;
  /** Why the bytes could not be fetched from `url` (the purchase itself succeeded). */
  fetchError?: string;
}

/** Larger than any image the seller makes (a 2048x2048 Nova Canvas PNG is 4-6 MB). */
export const MAX_IMAGE_BYTES = 32 * 1024 * 1024;

/**
 * Reads the gateway's 200 (the shared `GenerateImageResponse` contract) into what the agent stores.
 * When the answer carries no bytes (always in the cloud: they would not fit Lambda's 6 MB response)
 * the image is fetched from its URL. The payment is settled by now, so a failed fetch is not an
 * error: the purchase is kept with its URL and `fetchError` says why the bytes are missing.
 */
export async function readPurchasedImage(
  response: Response,
  fetchImpl: typeof globalThis.fetch,
  scheme: 'exact' | 'batch-settlement' = 'exact',
): Promise<PurchasedImage> {
  const json = await readJson(response);
  if (scheme === 'batch-settlement') {
    const channel = ChannelPurchaseResponse.safeParse(json);
    if (!channel.success) throw contractError(channel.error, response.status);
    const data = channel.data;
    return withBytes(fetchImpl, {
      imageId: data.image_id,
      transactionHash: undefined,
      mimeType: data.image.mime_type,
      base64: data.image.base64,
      url: data.image_url,
      explorerUrl: undefined,
    });
  }
  const parsed = GenerateImageResponse.safeParse(json);
  if (!parsed.success) throw contractError(parsed.error, response.status);
  const data = parsed.data;
  const image: PurchasedImage = {
    imageId: data.image_id,
    transactionHash: data.transaction_hash,
    mimeType: data.image.mime_type,
    base64: data.image.base64,
    url: data.image_url,
    explorerUrl: data.explorer_url,
  };
  return withBytes(fetchImpl, image);
}

function contractError(error: z.ZodError, status: number): GatewayError {
  return new GatewayError(
    'invalid_gateway_response',
    `the gateway's 200 does not match its contract: ${error.issues
      .slice(0, 3)
      .map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`)
      .join('; ')}`,
    status,
  );
}

/** The payment is done by now: a failed fetch of the bytes keeps the purchase with its URL. */
async function withBytes(fetchImpl: typeof globalThis.fetch, image: PurchasedImage): Promise<PurchasedImage> {
  if (image.base64 !== undefined) return image;
  try {
    image.base64 = Buffer.from(await fetchImage(fetchImpl, image.url)).toString('base64');
  } catch (error) {
    image.fetchError = error instanceof Error ? error.message : String(error);
  }
  return image;
}

async function fetchImage(fetchImpl: typeof globalThis.fetch, url: string): Promise<Uint8Array> {
  const response = await fetchImpl(url);
  if (!response.ok) throw new Error(`the image URL answered ${response.status}`);
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > MAX_IMAGE_BYTES) throw new Error(`the image is ${declared} bytes, over ${MAX_IMAGE_BYTES}`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  if (bytes.length === 0 || bytes.length > MAX_IMAGE_BYTES) {
    throw new Error(`the image URL returned ${bytes.length} bytes`);
  }
  return bytes;
}
