import type { ExactEvmAuthorization, PaymentPayload } from '@agentic-payments/x402';
import { GATEWAY_ERRORS } from './reasons.ts';
import type { ServerRequirements } from './requirements.ts';

export type MatchPaymentResult =
  | { readonly ok: true; readonly authorization: ExactEvmAuthorization; readonly validBefore: bigint }
  | { readonly ok: false; readonly code: string; readonly message: string };

/** Seconds a settlement needs after verify; an authorization closer to its end is refused. */
export const VALID_BEFORE_MARGIN_SECONDS = 6n;
/** Longest authorization window accepted (bounds how long a reservation must be kept). */
export const MAX_WINDOW_SECONDS = 3600n;

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
const reject = (code: string, message: string): MatchPaymentResult => ({ ok: false, code, message });

/**
 * Match a decoded payment against the server's OWN requirements for this request: scheme, network,
 * asset, payee, exact amount and the EIP-3009 time window against the injected clock. Whatever the
 * client claims (its `accepted` copy, a `price` in the body) is never trusted for any of these.
 */
export function matchPayment(
  payment: PaymentPayload,
  req: ServerRequirements,
  nowMs: number,
): MatchPaymentResult {
  const scheme = payment.x402Version === 1 ? payment.scheme : payment.accepted.scheme;
  if (scheme !== 'exact') return reject(GATEWAY_ERRORS.unsupportedScheme, `scheme ${scheme} is not accepted`);

  if (payment.x402Version === 1) {
    if (payment.network !== req.network.v1Name) {
      return reject(
        GATEWAY_ERRORS.networkMismatch,
        `payment is for ${payment.network}, not ${req.network.v1Name}`,
      );
    }
  } else {
    const accepted = payment.accepted;
    if (accepted.network !== req.network.caip2) {
      return reject(
        GATEWAY_ERRORS.networkMismatch,
        `payment is for ${accepted.network}, not ${req.network.caip2}`,
      );
    }
    const chainId = accepted.extra?.chainId;
    if (chainId !== undefined && chainId !== req.network.chainId) {
      return reject(GATEWAY_ERRORS.chainMismatch, `payment names chain ${String(chainId)}`);
    }
    if (!same(accepted.asset, req.asset)) {
      return reject(GATEWAY_ERRORS.assetMismatch, 'payment is not in this server’s USDC');
    }
    if (!same(accepted.payTo, req.payTo)) {
      return reject(GATEWAY_ERRORS.payToMismatch, 'payment is addressed to another payee');
    }
  }

  const auth = payment.payload.authorization;
  if (!same(auth.to, req.payTo)) {
    return reject(GATEWAY_ERRORS.payToMismatch, 'authorization pays another address');
  }
  const value = BigInt(auth.value);
  if (value < req.amount) {
    return reject(
      GATEWAY_ERRORS.insufficientPayment,
      `authorization is for ${value}, price is ${req.amount}`,
    );
  }
  if (value !== req.amount) {
    return reject(GATEWAY_ERRORS.amountMismatch, `exact scheme: authorization must be for ${req.amount}`);
  }
  if (payment.x402Version === 2 && BigInt(payment.accepted.amount) !== req.amount) {
    return reject(GATEWAY_ERRORS.amountMismatch, `accepted amount must be ${req.amount} atomic USDC`);
  }

  const now = BigInt(Math.floor(nowMs / 1000));
  const validAfter = BigInt(auth.validAfter);
  const validBefore = BigInt(auth.validBefore);
  if (validBefore <= now + VALID_BEFORE_MARGIN_SECONDS) {
    return reject(
      GATEWAY_ERRORS.authorizationExpired,
      'authorization validBefore has passed (or is too close)',
    );
  }
  if (validAfter > now) {
    return reject(GATEWAY_ERRORS.authorizationNotYetValid, 'authorization validAfter is in the future');
  }
  if (validBefore > now + MAX_WINDOW_SECONDS) {
    return reject(
      GATEWAY_ERRORS.authorizationWindowTooLong,
      `authorization validBefore must be within ${MAX_WINDOW_SECONDS} seconds`,
    );
  }
  return { ok: true, authorization: auth, validBefore };
}
