/**
 * HTTP header names of x402. v2 uses `PAYMENT-REQUIRED` / `PAYMENT-SIGNATURE` / `PAYMENT-RESPONSE`;
 * v1 clients send `X-PAYMENT` and read `X-PAYMENT-RESPONSE`. HTTP header names are
 * case-insensitive; these are the spellings the official packages emit.
 */
export const X402_HEADERS = {
  paymentRequired: 'PAYMENT-REQUIRED',
  paymentSignature: 'PAYMENT-SIGNATURE',
  paymentResponse: 'PAYMENT-RESPONSE',
  xPayment: 'X-PAYMENT',
  xPaymentResponse: 'X-PAYMENT-RESPONSE',
} as const;

export type X402HeaderName = (typeof X402_HEADERS)[keyof typeof X402_HEADERS];

/** Default limit for an encoded x402 header (base64 characters). */
export const DEFAULT_MAX_HEADER_BYTES = 16 * 1024;
