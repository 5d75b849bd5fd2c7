import { AppError } from '@agentic-payments/x402';
import { getAddress, isAddress } from 'viem';
import { z } from 'zod';

const optionalString = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();

const url = z.url({ protocol: /^https?$/ });

/**
 * Gateway settings from the environment. Every wrong variable is reported by name in one error.
 * Secrets (CDP_API_KEY_SECRET, IMAGE_URL_SECRET) stay in this object and never reach a log.
 */
export const GatewayEnvSchema = z
  .object({
    GATEWAY_PORT: z.coerce.number().int().min(0).max(65_535).default(4021),
    SELLER_ADDRESS: z
      .string()
      .refine((v) => isAddress(v, { strict: false }), 'must be a 0x-prefixed 20-byte address')
      .transform((v) => getAddress(v)),
    NETWORK: z.enum(['devnet', 'base-sepolia', 'base']).default('devnet'),
    FACILITATOR_URL: url.default('http://127.0.0.1:4022'),
    FACILITATOR_KIND: z.enum(['ours', 'x402.org', 'cdp']).default('ours'),
    CDP_API_KEY_ID: optionalString,
    CDP_API_KEY_SECRET: optionalString,
    /** Bearer token for our facilitator's delegated batch-settlement signatures (off the devnet). */
    FACILITATOR_TOKEN: optionalString,
    PAYMENT_TABLE: z.string().min(3).max(255).default('payments'),
    /** Unset with IMAGE_GENERATOR=local → the embedded dynalite engine under DATA_DIR. */
    DYNAMODB_ENDPOINT: url.optional(),
    DATA_DIR: z.string().min(1).default('.data'),
    IMAGE_GENERATOR: z.enum(['local', 'bedrock']).default('local'),
    AWS_REGION: z.string().min(1).default('us-east-1'),
    /** Explorer base (devnet explorer or BaseScan); defaults to the network's. */
    EXPLORER_URL: url.optional(),
    /** Public base URL of this gateway (x402 `resource`, image links); defaults to the request's origin. */
    PUBLIC_URL: url.optional(),
    IMAGE_URL_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    /**
     * How the 200 carries the image: `inline` (base64 too, when the answer fits Lambda's 6 MB) or
     * `url` (image_url only). The Lambda entry always uses `url`; this sets the Node server's.
     */
    IMAGE_DELIVERY: z.enum(['inline', 'url']).default('inline'),
    /** S3 bucket for images (Lambda); unset → files under DATA_DIR/images. */
    IMAGE_BUCKET: optionalString,
    /** JSON-RPC used only to recover interrupted settlements (receipt / authorizationState reads). */
    RPC_URL: url.optional(),
    /**
     * `on`: the 402 offers `batch-settlement` beside `exact` whenever the facilitator lists it in
     * /supported (channels in the payment store); `off`: `exact` only.
     */
    BATCH_SETTLEMENT: z.enum(['on', 'off']).default('on'),
    /** Seconds between claim + settle passes of the channel manager (0: only at shutdown). */
    CHANNEL_CLAIM_INTERVAL_SECONDS: z.coerce.number().int().min(0).max(86_400).default(60),
    /** The channels' withdraw delay (the spec's range: 15 min to 30 days); claims run well inside it. */
    CHANNEL_WITHDRAW_DELAY_SECONDS: z.coerce.number().int().min(900).max(2_592_000).default(900),
    /** Refund the unspent balance of channels idle this long (unset: only refunds the payer asks for). */
    CHANNEL_REFUND_IDLE_SECONDS: z.coerce.number().int().positive().optional(),
  })
  .superRefine((env, ctx) => {
    if (env.FACILITATOR_KIND === 'cdp') {
      for (const key of ['CDP_API_KEY_ID', 'CDP_API_KEY_SECRET'] as const) {
        if (env[key] === undefined) {
          ctx.addIssue({ code: 'custom', path: [key], message: 'required when FACILITATOR_KIND=cdp' });
        }
      }
    }
  });

export type GatewayConfig = z.infer<typeof GatewayEnvSchema>;

/**
 * Parse the gateway configuration from `env` (default `process.env`).
 *
 * @example
 * const config = loadGatewayConfig({ SELLER_ADDRESS: '0x90F79bf6EB2c4f870365E785982E1f101E93b906' });
 */
export function loadGatewayConfig(env: Record<string, string | undefined> = process.env): GatewayConfig {
  const parsed = GatewayEnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'env'}: ${issue.message}`);
    throw new AppError('invalid_config', `invalid gateway configuration: ${problems.join('; ')}`, {
      httpStatus: 500,
      details: { variables: parsed.error.issues.map((issue) => issue.path.join('.')) },
    });
  }
  return parsed.data;
}
