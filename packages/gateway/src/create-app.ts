import type { ImageGenerator } from '@agentic-payments/imaging';
import {
  AppError,
  type ChannelPurchaseResponse,
  type ChannelTransactionsResponse,
  encodeHeader,
  encodePaymentRequiredHeader,
  encodePaymentResponseHeader,
  explorerTxUrl,
  formatUsdc,
  type GenerateImageResponse,
  getNetwork,
  IMAGE_QUALITIES,
  IMAGE_SIZES,
  type ImageQuality,
  type ImageSize,
  isAppError,
  type NetworkId,
  type PaymentPayload,
  priceForImage,
  X402_HEADERS,
} from '@agentic-payments/x402';
import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { z } from 'zod';
import { LAMBDA_SYNC_RESPONSE_MAX_BYTES } from './aws-limits.ts';
import { decodeGatewayPayment, type GatewayPayment } from './batch-settlement-payload.ts';
import type { ChainReader } from './chain-reader.ts';
import type { ChannelPayments } from './channel-payments.ts';
import type { FacilitatorClient } from './facilitator-client.ts';
import type { ImageStore } from './image-store.ts';
import type { Logger } from './logger.ts';
import type { PaymentStore } from './payment-store.ts';
import { type ChannelPurchaseOutcome, purchaseWithChannel } from './purchase-channel.ts';
import { type PurchaseDeadline, type PurchaseOutcome, purchaseImage } from './purchase-image.ts';
import { GATEWAY_ERRORS } from './reasons.ts';
import { paymentRequiredV1, paymentRequiredV2, type ServerRequirements } from './requirements.ts';

export interface AppConfig {
  /** The seller's address (`payTo`). */
  readonly sellerAddress: `0x${string}`;
  readonly network: NetworkId;
  /** Explorer base for `explorer_url` (defaults to the network's). */
  readonly explorerUrl?: string | undefined;
  /** Public base URL (x402 `resource`, image links); defaults to the request's origin. */
  readonly publicUrl?: string | undefined;
  /** Lifetime of signed image URLs. */
  readonly imageUrlTtlMs?: number;
  /**
   * How the 200 carries the image. `url`: `image_url` only (the Lambda entry sets it: a 2048x2048
   * Nova Canvas PNG never fits Lambda's 6 MB response). `inline` (default): the bytes as base64 as
   * well, when the whole answer stays within `maxResponseBytes`; otherwise `image_url` only.
   */
  readonly imageDelivery?: ImageDelivery | undefined;
  /** The largest answer the runtime can return (default: Lambda's synchronous limit, 6 MB). */
  readonly maxResponseBytes?: number | undefined;
}

export type ImageDelivery = 'inline' | 'url';

/**
 * Room kept for what surrounds the JSON body in the runtime's result: headers (PAYMENT-RESPONSE,
 * CORS) and the Lambda result envelope, which escapes the body's quotes (about 60 of them).
 */
export const RESPONSE_HEADROOM_BYTES = 16 * 1024;

export interface GatewayDeps {
  readonly config: AppConfig;
  readonly paymentStore: PaymentStore;
  readonly facilitator: FacilitatorClient;
  readonly imageGenerator: ImageGenerator;
  readonly imageStore: ImageStore & {
    verifySignature?: (id: string, exp: string, sig: string, now: number) => boolean;
  };
  readonly clock: { now(): number };
  readonly logger: Logger;
  /** Optional chain reads to recover interrupted settlements (see purchase-image.ts). */
  readonly chain?: ChainReader | undefined;
  /** The purchase's time budget (default: inside API Gateway's 30 s, see purchase-image.ts). */
  readonly deadline?: PurchaseDeadline | undefined;
  /**
   * `batch-settlement` (payment channels, see channel-payments.ts). Absent: the 402 offers `exact`
   * only. Present: it offers both while the facilitator lists batch-settlement in /supported.
   */
  readonly channels?: ChannelPayments | undefined;
}

/** Body of `POST /generate_image`. Unknown fields are refused; `price` is accepted and ignored. */
export const GenerateImageBodySchema = z.strictObject({
  request_id: z
    .string()
    .min(1)
    .max(128)
    .regex(/^[A-Za-z0-9._:-]+$/, 'letters, digits and . _ : - only'),
  prompt: z
    .string()
    .min(1)
    .max(1024)
    .refine((s) => s.trim().length > 0, 'must not be blank'),
  size: IMAGE_SIZES.optional(),
  quality: IMAGE_QUALITIES.optional(),
  // The seed sends the price it expects; the server's price is what is charged, always.
  price: z.union([z.string().max(40), z.number()]).optional(),
});

const MAX_BODY_BYTES = 16 * 1024;
const EXPOSED = [X402_HEADERS.paymentRequired, X402_HEADERS.paymentResponse, X402_HEADERS.xPaymentResponse];

type Env = { Variables: { log: Record<string, unknown> } };

/**
 * The x402 seller as a Hono app; runtime-agnostic (Node server, Lambda, `app.request()` in tests).
 *
 * @example
 * const app = createApp({ config, paymentStore, facilitator, imageGenerator, imageStore, clock, logger });
 * const res = await app.request('/generate_image', { method: 'POST', body: JSON.stringify({ request_id, prompt }) });
 */
export function createApp(deps: GatewayDeps) {
  const { config, logger, clock } = deps;
  const network = getNetwork(config.network);
  const app = new Hono<Env>();

  app.use(
    '*',
    cors({
      origin: '*',
      allowHeaders: ['Content-Type', X402_HEADERS.paymentSignature, X402_HEADERS.xPayment],
      allowMethods: ['GET', 'POST', 'OPTIONS'],
      exposeHeaders: EXPOSED,
    }),
  );

  // One structured line per request; fields are curated (never headers, keys or signatures).
  app.use('*', async (c, next) => {
    const started = performance.now();
    c.set('log', {});
    await next();
    logger.info('request', {
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      duration_ms: Math.round(performance.now() - started),
      ...c.get('log'),
    });
  });

  app.onError((error, c) => {
    if (isAppError(error)) {
      c.set('log', { ...c.get('log'), error: error.code });
      return c.json({ error: error.code, message: error.message }, error.httpStatus as 400);
    }
    logger.error('unhandled_error', {
      path: c.req.path,
      error: error instanceof Error ? error.message : String(error),
      stack: error instanceof Error ? error.stack : undefined,
    });
    return c.json({ error: GATEWAY_ERRORS.internalError, message: 'internal error' }, 500);
  });

  app.notFound((c) => c.json({ error: GATEWAY_ERRORS.notFound, message: 'not found' }, 404));

  app.get('/health', (c) =>
    c.json({ status: 'ok', service: 'gateway', network: network.id, generator: deps.imageGenerator.name }),
  );

  // A batch-settlement channel's claim, settle and refund transactions (channel-log.ts), for its payer.
  app.get('/channels/:channelId/transactions', async (c) => {
    const log = deps.channels?.log;
    if (log === undefined) {
      return c.json(
        { error: GATEWAY_ERRORS.notFound, message: 'batch-settlement is off on this gateway' },
        404,
      );
    }
    const channelId = c.req.param('channelId');
    const answer: ChannelTransactionsResponse = {
      channel_id: channelId.toLowerCase(),
      transactions: (await log.list(channelId)).map((entry) => ({
        kind: entry.kind,
        transaction_hash: entry.transaction,
        recorded_at: new Date(entry.at).toISOString(),
      })),
    };
    c.header('cache-control', 'no-store');
    return c.json(answer, 200);
  });

  app.get('/images/:id', async (c) => {
    const id = c.req.param('id');
    const verify = deps.imageStore.verifySignature;
    if (
      verify === undefined ||
      !verify(id, c.req.query('exp') ?? '', c.req.query('sig') ?? '', clock.now())
    ) {
      return c.json(
        { error: GATEWAY_ERRORS.invalidImageUrl, message: 'the image link is invalid or expired' },
        403,
      );
    }
    const image = await deps.imageStore.get(id);
    if (image === undefined) return c.json({ error: GATEWAY_ERRORS.notFound, message: 'no such image' }, 404);
    return c.body(image.bytes.slice().buffer as ArrayBuffer, 200, {
      'content-type': image.mimeType,
      'cache-control': 'private, max-age=300',
    });
  });

  /**
   * The answers of a paid route, bound to this request: the 402 (exact, and batch-settlement when
   * available), a non-402 failure, and a batch-settlement purchase's answer.
   */
  const responders = (c: Context<Env>, requirements: ServerRequirements, requestId: string) => {
    // The 402 offers exact and, when channels are on and the facilitator supports them,
    // batch-settlement (v2 header only: batch-settlement has no v1 form). `channelOffer` is the
    // batch-settlement entry to send (the corrective one after a cumulative mismatch).
    const paymentRequired = async (
      status: 402,
      code: string,
      message: string,
      channelOffer?: Record<string, unknown>,
    ) => {
      c.set('log', { ...c.get('log'), error: code });
      const offer = channelOffer ?? (await deps.channels?.offer(requirements));
      const v2 = paymentRequiredV2(requirements, code);
      c.header(
        X402_HEADERS.paymentRequired,
        encodePaymentRequiredHeader(
          offer === undefined ? v2 : { ...v2, accepts: [...v2.accepts, offer as never] },
        ),
      );
      c.header('cache-control', 'no-store');
      return c.json(paymentRequiredV1(requirements, code, message), status);
    };
    const failed = (outcome: Extract<PurchaseOutcome, { kind: 'failed' }>) => {
      c.set('log', { ...c.get('log'), error: outcome.code, transaction: outcome.transaction });
      if (outcome.retryAfterSeconds !== undefined) c.header('retry-after', String(outcome.retryAfterSeconds));
      return c.json(
        {
          error: outcome.code,
          message: outcome.message,
          ...(outcome.transaction === undefined
            ? {}
            : {
                transaction_hash: outcome.transaction,
                explorer_url: explorerTxUrl(network, outcome.transaction, config.explorerUrl),
              }),
          ...(outcome.retryAfterSeconds === undefined
            ? {}
            : { retry_after_seconds: outcome.retryAfterSeconds }),
        },
        outcome.status,
      );
    };
    const imageUrlOf = (imageId: string) =>
      deps.imageStore.url(imageId, clock.now() + (config.imageUrlTtlMs ?? 3_600_000));
    const inlineImage = <T extends { image: { mime_type: string; base64?: string } }>(
      answer: T,
      bytes: Uint8Array,
    ) => {
      const inline =
        (config.imageDelivery ?? 'inline') === 'inline' &&
        fitsInline(answer, bytes.length, config.maxResponseBytes ?? LAMBDA_SYNC_RESPONSE_MAX_BYTES);
      c.set('log', {
        ...c.get('log'),
        image_bytes: bytes.length,
        image_delivery: inline ? 'inline' : 'url',
      });
      if (inline) answer.image.base64 = Buffer.from(bytes).toString('base64');
      return answer;
    };
    /** The answer to a batch-settlement payment (see README, "batch-settlement"). */
    const answerChannelPurchase = async (outcome: ChannelPurchaseOutcome) => {
      switch (outcome.kind) {
        case 'rejected':
          return paymentRequired(402, outcome.code, outcome.message, outcome.offer);
        case 'failed':
          return failed(outcome);
        case 'refunded': {
          const { response } = outcome;
          c.header(X402_HEADERS.paymentResponse, encodeHeader(response));
          c.set('log', { ...c.get('log'), step: 'channel_refunded', transaction: response.transaction });
          const refunded = BigInt(
            response.amount === undefined || response.amount === '' ? '0' : response.amount,
          );
          return c.json(
            {
              status: 'refunded',
              channel_id: outcome.channelId,
              amount: formatUsdc(refunded),
              atomic_amount: refunded.toString(),
              transaction_hash: response.transaction,
              network: network.id,
              explorer_url: explorerTxUrl(network, response.transaction, config.explorerUrl),
            },
            200,
          );
        }
        case 'delivered': {
          const { receipt, image, response } = outcome;
          // The official client reconciles its channel from this header (chargedAmount, channelState).
          if (response !== undefined) c.header(X402_HEADERS.paymentResponse, encodeHeader(response));
          const channelState = channelStateOf(response);
          const deposit = receipt.transaction === '' ? undefined : receipt.transaction;
          c.set('log', {
            ...c.get('log'),
            image_id: receipt.imageId,
            replayed: outcome.replayed,
            transaction: deposit,
            charged_cumulative: channelState?.chargedCumulativeAmount,
          });
          const answer: ChannelPurchaseResponse = {
            status: 'payment_charged',
            scheme: 'batch-settlement',
            request_id: requestId,
            image_id: receipt.imageId,
            message: outcome.replayed
              ? 'This request was already charged to the channel; returning the stored result'
              : deposit === undefined
                ? 'Charged to your payment channel (claimed on chain later, in a batch); image generated'
                : `Channel deposit settled on ${network.displayName}; charged to the channel; image generated`,
            payer: receipt.payer,
            amount: formatUsdc(BigInt(receipt.atomicAmount)),
            atomic_amount: receipt.atomicAmount,
            network: receipt.network,
            channel_id: outcome.channelId,
            ...(channelState?.chargedCumulativeAmount === undefined
              ? {}
              : { charged_cumulative_amount: channelState.chargedCumulativeAmount }),
            ...(deposit === undefined
              ? {}
              : {
                  deposit_transaction_hash: deposit,
                  explorer_url: explorerTxUrl(network, deposit, config.explorerUrl),
                }),
            image: { mime_type: image.mimeType },
            image_url: await imageUrlOf(receipt.imageId),
          };
          return c.json(inlineImage(answer, image.bytes), 200);
        }
      }
    };
    return { paymentRequired, failed, imageUrlOf, inlineImage, answerChannelPurchase };
  };

  /** The price quote of a route, for the default image (the official refund client probes with GET). */
  const requirementsOf = (c: Context<Env>, size: ImageSize, quality: ImageQuality): ServerRequirements => {
    const origin = (config.publicUrl ?? new URL(c.req.url).origin).replace(/\/+$/, '');
    return {
      network,
      asset: network.usdcAddress,
      payTo: config.sellerAddress,
      amount: priceForImage({ size, quality }),
      resource: `${origin}/generate_image`,
      description: `AI image ${size} ${quality} (${deps.imageGenerator.name})`,
    };
  };

  /**
   * GET is where the official batch-settlement client sends a cooperative refund (it probes the
   * URL with GET, then sends the refund payload there). Nothing is sold on GET: without a payment
   * it quotes the default image (402), and only a `batch-settlement` refund payload is accepted.
   */
  app.get('/generate_image', async (c) => {
    const requirements = requirementsOf(c, '1024x1024', 'standard');
    const { paymentRequired, answerChannelPurchase } = responders(c, requirements, 'refund');
    const header = c.req.header(X402_HEADERS.paymentSignature) ?? c.req.header(X402_HEADERS.xPayment);
    if (header === undefined || header === '') {
      return paymentRequired(402, GATEWAY_ERRORS.paymentRequired, 'payment required: POST to buy an image');
    }
    let decoded: GatewayPayment;
    try {
      decoded = decodeGatewayPayment(header);
    } catch (error) {
      if (!isAppError(error)) throw error;
      return paymentRequired(402, error.code, error.message);
    }
    const channels = deps.channels;
    if (
      decoded.scheme !== 'batch-settlement' ||
      decoded.payment.payload.type !== 'refund' ||
      channels === undefined
    ) {
      throw new AppError(
        GATEWAY_ERRORS.invalidRequest,
        'GET takes only a batch-settlement refund; buy an image with POST',
      );
    }
    c.set('log', {
      ...c.get('log'),
      scheme: 'batch-settlement',
      payload_type: 'refund',
      channel_id: decoded.payment.payload.voucher.channelId,
    });
    const outcome = await purchaseWithChannel(
      { ...deps, channels },
      {
        requestId: 'refund',
        prompt: 'refund',
        size: '1024x1024',
        quality: 'standard',
        requirements,
        payment: decoded.payment,
      },
    );
    return answerChannelPurchase(outcome);
  });

  app.post(
    '/generate_image',
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) =>
        c.json(
          { error: GATEWAY_ERRORS.payloadTooLarge, message: `body must be at most ${MAX_BODY_BYTES} bytes` },
          413,
        ),
    }),
    async (c) => {
      let json: unknown;
      try {
        json = JSON.parse(await c.req.text());
      } catch {
        throw new AppError(GATEWAY_ERRORS.invalidJson, 'body must be JSON');
      }
      const parsed = GenerateImageBodySchema.safeParse(json);
      if (!parsed.success) {
        const detail = parsed.error.issues
          .slice(0, 5)
          .map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`)
          .join('; ');
        throw new AppError(GATEWAY_ERRORS.invalidRequest, `invalid request: ${detail}`, {
          details: { fields: parsed.error.issues.map((issue) => issue.path.join('.')) },
        });
      }
      const body = parsed.data;
      const size = body.size ?? '1024x1024';
      const quality = body.quality ?? 'standard';
      const requirements = requirementsOf(c, size, quality);
      c.set('log', {
        ...c.get('log'),
        request_id: body.request_id,
        size,
        quality,
        price: requirements.amount,
      });

      const v2Header = c.req.header(X402_HEADERS.paymentSignature);
      const v1Header = c.req.header(X402_HEADERS.xPayment);
      const header = v2Header ?? v1Header;
      const { paymentRequired, failed, imageUrlOf, inlineImage, answerChannelPurchase } = responders(
        c,
        requirements,
        body.request_id,
      );
      if (header === undefined || header === '') {
        const quote = await paymentRequired(
          402,
          GATEWAY_ERRORS.paymentRequired,
          'payment required: pay with x402 (exact, USDC)',
        );
        // The first step of every purchase (x402's price quote), not a failure: log it as the step.
        const { error: _quoted, ...log } = c.get('log');
        c.set('log', { ...log, step: 'payment_requested' });
        return quote;
      }
      let decoded: GatewayPayment;
      try {
        decoded = decodeGatewayPayment(header);
      } catch (error) {
        if (!isAppError(error)) throw error;
        return paymentRequired(402, error.code, error.message);
      }
      if (decoded.scheme === 'batch-settlement') {
        const { channels } = deps;
        if (channels === undefined) {
          return paymentRequired(
            402,
            GATEWAY_ERRORS.unsupportedScheme,
            'this gateway does not take batch-settlement',
          );
        }
        c.set('log', {
          ...c.get('log'),
          x402_version: 2,
          scheme: 'batch-settlement',
          payload_type: decoded.payment.payload.type,
          payer: decoded.payment.payload.channelConfig.payer,
          channel_id: decoded.payment.payload.voucher.channelId,
        });
        const outcome = await purchaseWithChannel(
          { ...deps, channels },
          {
            requestId: body.request_id,
            prompt: body.prompt,
            size,
            quality,
            requirements,
            payment: decoded.payment,
          },
        );
        return answerChannelPurchase(outcome);
      }
      const payment: PaymentPayload = decoded.payment;
      const version = payment.x402Version;
      c.set('log', { ...c.get('log'), x402_version: version, payer: payment.payload.authorization.from });

      const outcome: PurchaseOutcome = await purchaseImage(deps, {
        requestId: body.request_id,
        prompt: body.prompt,
        size,
        quality,
        requirements,
        payment,
      });

      if (outcome.kind === 'rejected') return paymentRequired(402, outcome.code, outcome.message);
      if (outcome.kind === 'failed') return failed(outcome);

      const { receipt, image } = outcome;
      c.set('log', {
        ...c.get('log'),
        transaction: receipt.transaction,
        image_id: receipt.imageId,
        replayed: outcome.replayed,
      });
      const settleResponse = {
        success: true,
        transaction: receipt.transaction,
        network: version === 1 ? network.v1Name : network.caip2,
        payer: receipt.payer,
      };
      c.header(
        version === 1 ? X402_HEADERS.xPaymentResponse : X402_HEADERS.paymentResponse,
        encodePaymentResponseHeader(settleResponse),
      );
      const atomic = BigInt(receipt.atomicAmount);
      const imageUrl = await imageUrlOf(receipt.imageId);
      const answer: GenerateImageResponse = {
        status: 'payment_settled',
        request_id: body.request_id,
        image_id: receipt.imageId,
        message: outcome.replayed
          ? 'Payment already settled for this request; returning the stored result'
          : `Payment settled on ${network.displayName}; image generated`,
        transaction_hash: receipt.transaction,
        payer: receipt.payer,
        amount: formatUsdc(atomic),
        atomic_amount: receipt.atomicAmount,
        network: receipt.network,
        explorer_url: explorerTxUrl(network, receipt.transaction, config.explorerUrl),
        image: { mime_type: image.mimeType },
        image_url: imageUrl,
      };
      return c.json(inlineImage(answer, image.bytes), 200);
    },
  );

  return app;
}

function channelStateOf(response: { extra?: Record<string, unknown> } | undefined) {
  const state = response?.extra?.channelState;
  if (typeof state !== 'object' || state === null) return undefined;
  const charged = (state as Record<string, unknown>).chargedCumulativeAmount;
  return { chargedCumulativeAmount: typeof charged === 'string' ? charged : undefined };
}

/** Whether `answer` with the image's bytes as base64 stays within `maxBytes` (headers included). */
function fitsInline(answer: object, imageBytes: number, maxBytes: number): boolean {
  const base64Length = Math.ceil(imageBytes / 3) * 4;
  const bodyLength = Buffer.byteLength(JSON.stringify(answer)) + ',"base64":""'.length + base64Length;
  return bodyLength + RESPONSE_HEADROOM_BYTES <= maxBytes;
}
