/**
 * The gateway's 200 for `POST /generate_image`: the seed's fields (`status`, `request_id`, `message`,
 * `transaction_hash`) plus the receipt and the image. Defined once here; the gateway builds it with
 * this type and the agent parses what arrives with this schema.
 *
 * The image always comes as `image_url` (a presigned S3 URL in the cloud, a signed gateway URL
 * locally). `image.base64` is there only when the whole answer stays within Lambda's synchronous
 * response limit (6 MB): a 2048x2048 Nova Canvas PNG (5-8 MB as base64) never is, so in the cloud
 * the gateway always sends the URL only and the buyer fetches the bytes from it.
 */
import { z } from 'zod';
import { BYTES32_HEX_RE, EVM_ADDRESS_RE } from './schemas.ts';

const HTTP_URL_RE = /^https?:\/\//;

export const GENERATE_IMAGE_STATUS = 'payment_settled';

/** The image part of the 200: its type always, its bytes (base64) only when they fit the answer. */
export const GeneratedImage = z.object({
  mime_type: z.string().regex(/^image\/[a-z0-9.+-]+$/),
  base64: z.string().min(1).optional(),
});
export type GeneratedImage = z.infer<typeof GeneratedImage>;

/**
 * Servers' answers use `z.object` (unknown fields are dropped, see schemas.ts), so a newer gateway
 * that adds a field still parses.
 *
 * @example
 * const body = GenerateImageResponse.safeParse(await response.json());
 * if (body.success && body.data.image.base64 === undefined) await fetch(body.data.image_url);
 */
export const GenerateImageResponse = z.object({
  status: z.literal(GENERATE_IMAGE_STATUS),
  request_id: z.string().min(1).max(128),
  image_id: z.string().min(1).max(128),
  message: z.string(),
  transaction_hash: z.string().regex(BYTES32_HEX_RE, 'expected a transaction hash'),
  payer: z.string().regex(EVM_ADDRESS_RE, 'expected an address'),
  /** Decimal USDC (`0.04`); `atomic_amount` is the same in atomic units (6 decimals). */
  amount: z.string().regex(/^\d+(\.\d+)?$/),
  atomic_amount: z.string().regex(/^(0|[1-9]\d*)$/),
  network: z.string().min(1),
  explorer_url: z.string().regex(HTTP_URL_RE),
  image: GeneratedImage,
  image_url: z.string().regex(HTTP_URL_RE),
});
export type GenerateImageResponse = z.infer<typeof GenerateImageResponse>;

export const CHANNEL_PURCHASE_STATUS = 'payment_charged';

/**
 * The gateway's 200 for a `batch-settlement` purchase (a voucher, or the deposit that opened the
 * channel). There is no transaction per image: the charge is written to the channel and claimed on
 * chain later in a batch, so `status` is `payment_charged` (not `payment_settled`) and only a
 * request that carried a deposit has `deposit_transaction_hash` (and its `explorer_url`). The spec's
 * `PAYMENT-RESPONSE` header carries the same charge for x402 clients.
 */
export const ChannelPurchaseResponse = z.object({
  status: z.literal(CHANNEL_PURCHASE_STATUS),
  scheme: z.literal('batch-settlement'),
  request_id: GenerateImageResponse.shape.request_id,
  image_id: GenerateImageResponse.shape.image_id,
  message: z.string(),
  payer: GenerateImageResponse.shape.payer,
  amount: GenerateImageResponse.shape.amount,
  atomic_amount: GenerateImageResponse.shape.atomic_amount,
  network: GenerateImageResponse.shape.network,
  channel_id: z.string().regex(BYTES32_HEX_RE, 'expected a channel id'),
  /** The channel's cumulative charge after this request (the next voucher is this + price). */
  charged_cumulative_amount: GenerateImageResponse.shape.atomic_amount.optional(),
  deposit_transaction_hash: GenerateImageResponse.shape.transaction_hash.optional(),
  explorer_url: GenerateImageResponse.shape.explorer_url.optional(),
  image: GeneratedImage,
  image_url: GenerateImageResponse.shape.image_url,
});
export type ChannelPurchaseResponse = z.infer<typeof ChannelPurchaseResponse>;

/**
 * `GET /channels/:channelId/transactions` of the gateway: the on-chain transactions that moved a
 * batch-settlement channel's money after its deposit (oldest first): `claim` (its charges claimed
 * by the seller, in a batch with other channels), `settle` (what was claimed paid out to the seller,
 * one transfer for many channels) and `refund` (the seller's claim job refunded the idle channel).
 * A payer's own refund is its own request's answer, not listed here.
 */
export const ChannelTransactionsResponse = z.object({
  channel_id: z.string().regex(BYTES32_HEX_RE, 'expected a channel id'),
  transactions: z.array(
    z.object({
      kind: z.enum(['claim', 'settle', 'refund']),
      transaction_hash: GenerateImageResponse.shape.transaction_hash,
      recorded_at: z.iso.datetime(),
    }),
  ),
});
export type ChannelTransactionsResponse = z.infer<typeof ChannelTransactionsResponse>;
