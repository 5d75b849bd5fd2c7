import { AppError, walkErrors } from '@agentic-payments/x402';
import { type SpendControls, x402Client, x402HTTPClient } from '@x402/core/client';
import type { PaymentRequirements } from '@x402/core/types';
import { type ClientEvmSigner, ExactEvmScheme } from '@x402/evm';
import { ExactEvmSchemeV1 } from '@x402/evm/exact/v1/client';
import { wrapFetchWithPayment } from '@x402/fetch';
import { getAddress, isAddress } from 'viem';
import {
  evaluatePayment,
  LIMIT_OF_REFUSAL,
  type PaymentIntent,
  type PaymentRefusalCode,
  type PolicyDecision,
  type SpendingLimit,
  type SpendingPolicy,
  type SpendingState,
  walletBudgetMessage,
} from './spending-policy.ts';
import type { AgentWallet, TypedDataToSign } from './wallet.ts';
import type { WalletBudget } from './wallet-budget.ts';

/**
 * The agent refused to sign: a spending rule, the wallet's 24-hour budget, or a signature that is
 * not a USDC transfer from the wallet. `limit` names the configured limit that was hit, if any.
 */
export class PaymentRefusedError extends AppError<PaymentRefusalCode> {
  override name = 'PaymentRefusedError';
  readonly limit: SpendingLimit | undefined;

  constructor(code: PaymentRefusalCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, { httpStatus: 403, ...options });
    this.limit = LIMIT_OF_REFUSAL[code];
  }
}

export type PaymentFailureCode =
  | 'gateway_unreachable'
  | 'payment_failed'
  | 'scheme_not_offered'
  | 'refund_failed';

/** The paid request failed for a reason other than a refusal (the x402 client's or fetch's error is the cause). */
export class PaymentFailedError extends AppError<PaymentFailureCode> {
  override name = 'PaymentFailedError';

  constructor(code: PaymentFailureCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, { httpStatus: 502, ...options });
  }
}

export function refusal(decision: Extract<PolicyDecision, { allowed: false }>): PaymentRefusedError {
  return new PaymentRefusedError(decision.reason, decision.message);
}

export function toBigInt(value: unknown): bigint | undefined {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'string' && /^\d+$/.test(value)) return BigInt(value);
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  return undefined;
}

/** The one kind of signature the agent makes: an EIP-3009 TransferWithAuthorization for USDC. */
function intentFromTypedData(
  typedData: TypedDataToSign,
  wallet: `0x${string}`,
  network: string,
): PaymentIntent & { nonce: string } {
  if (typedData.primaryType !== 'TransferWithAuthorization') {
    throw new PaymentRefusedError(
      'unsupported_signature',
      `refusing to sign ${typedData.primaryType}; only EIP-3009 USDC transfers`,
    );
  }
  const { domain, message } = typedData;
  const from = message.from;
  if (
    typeof from !== 'string' ||
    !isAddress(from, { strict: false }) ||
    getAddress(from) !== getAddress(wallet)
  ) {
    throw new PaymentRefusedError('unsupported_signature', 'authorization is not from the agent wallet');
  }
  const amount = toBigInt(message.value);
  const chainId = toBigInt(domain.chainId);
  // EIP-3009's nonce is unique per authorization: the wallet budget's reservation id.
  const nonce = typeof message.nonce === 'string' ? message.nonce : undefined;
  if (amount === undefined || chainId === undefined || !nonce) {
    throw new PaymentRefusedError('unsupported_signature', 'authorization has no amount, chain id or nonce');
  }
  return {
    amount,
    payTo: String(message.to),
    asset: String(domain.verifyingContract),
    network,
    chainId: Number(chainId),
    nonce,
  };
}

export interface GuardedSignerOptions {
  /** The wallet-wide 24-hour budget: each signature reserves its amount there first. */
  budget: WalletBudget;
  /** Called after a signature, with its reservation id (the authorization's nonce). */
  onSigned?: (intent: PaymentIntent, reservationId: string) => void;
}

/**
 * A ClientEvmSigner for the official x402 EVM scheme that re-checks the spending policy on the exact
 * bytes about to be signed, then reserves the amount in the wallet budget (atomically, across
 * sessions and containers). This is the last line: even if the x402 client's own policy were
 * bypassed, nothing outside the policy or over the wallet's cap gets a signature.
 */
export function createGuardedSigner(
  wallet: AgentWallet,
  policy: SpendingPolicy,
  state: () => SpendingState,
  options: GuardedSignerOptions,
): ClientEvmSigner {
  const { budget, onSigned } = options;
  return {
    address: wallet.address,
    async signTypedData(typedData) {
      const { nonce, ...intent } = intentFromTypedData(typedData, wallet.address, policy.network.caip2);
      const decision = evaluatePayment(policy, state(), intent);
      if (!decision.allowed) throw refusal(decision);
      let reserved: Awaited<ReturnType<WalletBudget['reserve']>>;
      try {
        reserved = await budget.reserve(nonce, intent.amount);
      } catch (error) {
        // Fail closed: no budget read, no signature.
        throw new PaymentRefusedError(
          'wallet_budget_unavailable',
          'the wallet budget could not be checked, so nothing was signed',
          { cause: error },
        );
      }
      if (!reserved.ok) {
        throw new PaymentRefusedError(
          'wallet_budget_exceeded',
          walletBudgetMessage(reserved.spent, reserved.cap, intent.amount),
        );
      }
      let signature: `0x${string}`;
      try {
        signature = await wallet.signTypedData(typedData);
      } catch (error) {
        await budget.release(nonce);
        throw error;
      }
      onSigned?.(intent, nonce);
      return signature;
    },
  };
}

/**
 * The x402 client's own spend controls, as a second line behind the policy: only the network's
 * USDC, at most the per-payment cap (the same for the exact and the batch-settlement client).
 */
export function spendControls(policy: SpendingPolicy): SpendControls {
  return {
    maxAmountPerPayment: false,
    allowedAssets: [
      {
        network: policy.network.caip2,
        asset: policy.network.usdcAddress,
        maxAmountPerPayment: policy.maxPayment.toString(),
      },
    ],
  };
}

export function requirementAmount(requirement: PaymentRequirements): bigint | undefined {
  const raw = requirement as unknown as Record<string, unknown>;
  return toBigInt(raw.amount ?? raw.maxAmountRequired);
}

export function evaluateRequirement(
  policy: SpendingPolicy,
  state: SpendingState,
  requirement: PaymentRequirements,
): PolicyDecision {
  const amount = requirementAmount(requirement);
  if (amount === undefined) {
    return { allowed: false, reason: 'invalid_amount', message: 'the payment requirements carry no amount' };
  }
  return evaluatePayment(policy, state, {
    amount,
    payTo: requirement.payTo,
    asset: requirement.asset,
    network: requirement.network,
  });
}

/**
 * Gateway answers after which a signed authorization provably moved no money, so its reservation
 * is released. The gateway verifies, generates, stores, and only then settles: a request or payment
 * it rejected (4xx but 409) and a failed generation or store come before any settlement. Anything
 * else (202 `settlement_pending`, 409, a 5xx of unknown stage, an authorization reported as used)
 * keeps the reservation: the money may have moved.
 */
const SETTLEMENT_UNKNOWN_CODES = new Set([
  'settlement_pending',
  'settlement_unresolved',
  'authorization_already_used',
  'authorization_reused',
  'payment_in_progress',
]);
const BEFORE_SETTLEMENT_CODES = new Set([
  'generation_failed',
  'generation_timeout',
  'model_throttled',
  'model_access_denied',
  'content_filtered',
  'invalid_image_request',
  'image_store_failed',
]);

export async function provablyUnsettled(response: Response): Promise<boolean> {
  let code: unknown;
  try {
    code = ((await response.clone().json()) as { error?: unknown } | null)?.error;
  } catch {
    code = undefined;
  }
  if (typeof code === 'string' && SETTLEMENT_UNKNOWN_CODES.has(code)) return false;
  if (response.status >= 400 && response.status < 500 && response.status !== 409) return true;
  return typeof code === 'string' && BEFORE_SETTLEMENT_CODES.has(code);
}

/** A connection that was never made carried no authorization anywhere. */
export function neverConnected(error: unknown): boolean {
  return walkErrors(error, (e) => (e as { code?: unknown } | null)?.code === 'ECONNREFUSED') !== undefined;
}

export interface PaidFetchOptions {
  wallet: AgentWallet;
  policy: SpendingPolicy;
  /** The wallet-wide 24-hour budget shared by every session. */
  budget: WalletBudget;
  /** Read at signing time so the policy sees the session's latest authorization and spend. */
  state: () => SpendingState;
  fetch?: typeof globalThis.fetch;
  onSigned?: (intent: PaymentIntent) => void;
}

/**
 * A fetch that pays x402 402s through the official client (`@x402/fetch` + `@x402/core` +
 * `@x402/evm` exact scheme, v2 `PAYMENT-SIGNATURE` and v1), with the spending policy applied four
 * times: on the 402's requirements (refuses with the rule that was broken), as an x402 payment
 * policy (filters requirements), as a before-creation hook (aborts), and in the signer itself,
 * which also reserves the amount in the wallet's 24-hour budget. The reservation is settled on a
 * 200 and released when the gateway's answer proves no money moved.
 *
 * Throws {@link PaymentRefusedError} (the rule or limit, by code) or {@link PaymentFailedError};
 * callers find them with `findError`, never by reading messages.
 *
 * @example
 * const paidFetch = createPaidFetch({ wallet, policy, budget, state: () => ({ authorizedAmount: 40_000n, spent: 0n }) });
 * await paidFetch(`${gatewayUrl}/generate_image`, { method: 'POST', body });
 */
export function createPaidFetch(options: PaidFetchOptions): typeof globalThis.fetch {
  const { policy, state, budget } = options;
  const baseFetch = options.fetch ?? globalThis.fetch;

  return async (input, init) => {
    // Per call: the refusal the hooks saw and the reservations signed but not yet answered.
    let refused: PaymentRefusedError | undefined;
    let unsent: string[] = [];
    const guarded = createGuardedSigner(options.wallet, policy, state, {
      budget,
      onSigned: (intent, reservationId) => {
        unsent.push(reservationId);
        options.onSigned?.(intent);
      },
    });
    const signer: ClientEvmSigner = {
      address: guarded.address,
      signTypedData: async (typedData) => {
        try {
          return await guarded.signTypedData(typedData);
        } catch (error) {
          // The x402 client rethrows signer errors as plain Errors without a cause: keep ours.
          if (error instanceof PaymentRefusedError) refused = error;
          throw error;
        }
      },
    };
    const allowed = (requirement: PaymentRequirements) =>
      evaluateRequirement(policy, state(), requirement).allowed;
    const client = new x402Client()
      .register(policy.network.caip2, new ExactEvmScheme(signer))
      .registerV1(policy.network.v1Name, new ExactEvmSchemeV1(signer))
      .registerPolicy((_version, requirements) => requirements.filter(allowed))
      .setSpendControls(spendControls(policy))
      .onBeforePaymentCreation(async ({ selectedRequirements }) => {
        const decision = evaluateRequirement(policy, state(), selectedRequirements);
        if (decision.allowed) return undefined;
        // The x402 client turns an abort into a plain Error without a cause: keep the typed one here.
        refused = refusal(decision);
        return { abort: true, reason: decision.reason };
      });
    const httpClient = new x402HTTPClient(client).onPaymentRequired(async ({ paymentRequired }) => {
      // Thrown from here, the refusal reaches the caller as is (this hook runs outside the client's
      // error wrapping), naming the first rule the seller's requirements break.
      const decisions = paymentRequired.accepts.map((r) => evaluateRequirement(policy, state(), r));
      if (decisions.some((d) => d.allowed)) return undefined;
      const first = decisions.find((d): d is Extract<PolicyDecision, { allowed: false }> => !d.allowed);
      throw first ? refusal(first) : new PaymentRefusedError('invalid_amount', 'the 402 offers no payment');
    });

    const send = async (request: Request): Promise<Response> => {
      const answering = unsent;
      unsent = [];
      let response: Response;
      try {
        response = await baseFetch(request);
      } catch (error) {
        if (neverConnected(error)) await Promise.all(answering.map((id) => budget.release(id)));
        throw new PaymentFailedError('gateway_unreachable', 'the gateway could not be reached', {
          cause: error,
        });
      }
      if (answering.length > 0) {
        if (response.status === 200) await Promise.all(answering.map((id) => budget.settle(id)));
        else if (await provablyUnsettled(response)) {
          await Promise.all(answering.map((id) => budget.release(id)));
        }
      }
      return response;
    };

    const paidFetch = wrapFetchWithPayment(
      ((request: Request) => send(request)) as typeof globalThis.fetch,
      httpClient,
    );
    try {
      return await paidFetch(input, init);
    } catch (error) {
      if (error instanceof PaymentRefusedError || error instanceof PaymentFailedError) throw error;
      const typed = walkErrors(error, (e) => e instanceof PaymentRefusedError) ?? refused;
      if (typed) throw typed;
      throw new PaymentFailedError('payment_failed', 'the x402 payment could not be made', { cause: error });
    } finally {
      // Signed but never sent (the client failed after signing): that authorization went nowhere.
      if (unsent.length > 0) await Promise.all(unsent.map((id) => budget.release(id)));
    }
  };
}
