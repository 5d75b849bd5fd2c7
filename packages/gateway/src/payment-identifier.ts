import { z } from 'zod';

/** x402 `payment-identifier` extension (`extensions["payment-identifier"].info.id`, 16-128 of [A-Za-z0-9_-]). */
export const PAYMENT_IDENTIFIER = 'payment-identifier';
const PaymentIdentifierSchema = z.object({
  info: z.object({
    id: z
      .string()
      .min(16)
      .max(128)
      .regex(/^[a-zA-Z0-9_-]+$/)
      .optional(),
  }),
});

/**
 * The client's x402 `payment-identifier` id, when a v2 payment carries one (spec: x402-foundation/x402,
 * `@x402/extensions/payment-identifier`): `{ ok: false }` for a malformed one.
 */
export function paymentIdentifierOf(payment: {
  readonly x402Version: number;
  readonly extensions?: Readonly<Record<string, unknown>> | undefined;
}): { ok: true; id: string } | { ok: false } | undefined {
  if (payment.x402Version !== 2) return undefined;
  const extension = payment.extensions?.[PAYMENT_IDENTIFIER];
  if (extension === undefined) return undefined;
  const parsed = PaymentIdentifierSchema.safeParse(extension);
  if (!parsed.success) return { ok: false };
  return parsed.data.info.id === undefined ? undefined : { ok: true, id: parsed.data.info.id };
}
