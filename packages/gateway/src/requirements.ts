import { type NetworkInfo, USDC_EIP712_DOMAIN } from '@agentic-payments/x402';

/** How long a buyer has between our 402 and a paid retry (EIP-3009 validBefore window). */
export const MAX_TIMEOUT_SECONDS = 300;

/** The server's own terms for one purchase; the only thing payments are matched against. */
export interface ServerRequirements {
  readonly network: NetworkInfo;
  readonly asset: `0x${string}`;
  readonly payTo: `0x${string}`;
  readonly amount: bigint;
  readonly resource: string;
  readonly description: string;
}

/** x402 v1 `accepts[]` entry, as the seed's 402 body carries it. */
export function toV1Requirements(req: ServerRequirements) {
  return {
    scheme: 'exact' as const,
    network: req.network.v1Name,
    maxAmountRequired: req.amount.toString(),
    resource: req.resource,
    description: req.description,
    mimeType: 'application/json',
    payTo: req.payTo,
    maxTimeoutSeconds: MAX_TIMEOUT_SECONDS,
    asset: req.asset,
    extra: { ...USDC_EIP712_DOMAIN, chainId: req.network.chainId },
  };
}

/** x402 v2 `accepts[]` entry (PAYMENT-REQUIRED header). */
export function toV2Requirements(req: ServerRequirements) {
  return {
    scheme: 'exact' as const,
    network: req.network.caip2,
    amount: req.amount.toString(),
    asset: req.asset,
    payTo: req.payTo,
    maxTimeoutSeconds: MAX_TIMEOUT_SECONDS,
    extra: { ...USDC_EIP712_DOMAIN, chainId: req.network.chainId },
  };
}

/** The v1 402 body (seed shape) with our `{ error, message }` next to the requirements. */
export function paymentRequiredV1(req: ServerRequirements, error: string, message: string) {
  return { x402Version: 1 as const, error, message, accepts: [toV1Requirements(req)] };
}

/**
 * x402's `payment-identifier` extension, declared as optional: a client may send an id (16-128 of
 * [A-Za-z0-9_-]) as the purchase's idempotency key (see `purchaseKey`). Official clients append one
 * only when the server declares it. Shape as `declarePaymentIdentifierExtension(false)` of
 * `@x402/extensions` (not a dependency: it pulls ajv, jose and zod 3 into the Lambda bundle).
 */
export const PAYMENT_IDENTIFIER_DECLARATION = {
  info: { required: false },
  schema: {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    type: 'object',
    properties: {
      required: { type: 'boolean' },
      id: { type: 'string', minLength: 16, maxLength: 128, pattern: '^[a-zA-Z0-9_-]+$' },
    },
    required: ['required'],
  },
} as const;

/** The v2 PaymentRequired object, sent base64-encoded in the PAYMENT-REQUIRED header. */
export function paymentRequiredV2(req: ServerRequirements, error: string) {
  return {
    x402Version: 2 as const,
    error,
    resource: { url: req.resource, description: req.description, mimeType: 'application/json' },
    accepts: [toV2Requirements(req)],
    extensions: { 'payment-identifier': PAYMENT_IDENTIFIER_DECLARATION },
  };
}
