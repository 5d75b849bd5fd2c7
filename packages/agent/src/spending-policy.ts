import type { NetworkInfo } from '@agentic-payments/x402';
import { formatUsdc } from '@agentic-payments/x402';
import { getAddress, isAddress } from 'viem';

/** What the operator configured; the model can change none of it. */
export interface SpendingPolicy {
  network: NetworkInfo;
  sellerAddress: `0x${string}`;
  /** MAX_PAYMENT_USDC, atomic. */
  maxPayment: bigint;
  /** SESSION_BUDGET_USDC, atomic. */
  sessionBudget: bigint;
  /** WALLET_BUDGET_24H_USDC, atomic: the rolling 24-hour cap over every session of the wallet. */
  walletBudget24h: bigint;
}

/** What the session allows right now: the user-authorized estimate and what it already spent. */
export interface SpendingState {
  /** The estimate the user authorized (atomic), or undefined when nothing is authorized. */
  authorizedAmount: bigint | undefined;
  spent: bigint;
  /**
   * What the wallet spent in the last 24 hours over all sessions, when the caller read it. The
   * authoritative check is the atomic reservation in the wallet budget store at signing time; this
   * one lets make_payment refuse early with the same code.
   */
  walletSpent24h?: bigint;
}

/** A payment the x402 client is about to sign. */
export interface PaymentIntent {
  amount: bigint;
  payTo: string;
  asset: string;
  /** x402 v2 CAIP-2 id ("eip155:84532") or v1 name ("base-sepolia"). */
  network: string;
  /** EIP-712 domain chain id, when known (the signing boundary knows it). */
  chainId?: number;
}

export type PolicyRejection =
  | 'not_authorized'
  | 'amount_exceeds_authorization'
  | 'pay_to_not_seller'
  | 'asset_not_usdc'
  | 'network_mismatch'
  | 'amount_exceeds_payment_cap'
  | 'session_budget_exceeded'
  | 'wallet_budget_exceeded'
  | 'invalid_amount'
  | 'deposit_not_to_collector'
  | 'unexpected_channel'
  | 'voucher_exceeds_deposit'
  | 'refund_voucher_charges';

/**
 * Every reason the agent refuses to sign (part of the tool replies and of `payment_refused`):
 * the policy's rejections, a signature that is not a USDC transfer from the wallet, requirements
 * the policy filtered out entirely, and a wallet budget store that cannot be read (fail closed).
 */
export type PaymentRefusalCode = PolicyRejection | 'unsupported_signature' | 'wallet_budget_unavailable';

/** Which configured limit a refusal hit; the tool replies carry it as `limit`. */
export type SpendingLimit = 'per_payment' | 'session' | 'wallet_24h';

export const LIMIT_OF_REFUSAL: Partial<Record<PaymentRefusalCode, SpendingLimit>> = {
  amount_exceeds_payment_cap: 'per_payment',
  session_budget_exceeded: 'session',
  wallet_budget_exceeded: 'wallet_24h',
};

/** The wallet-wide refusal, in one place for the policy check and the store's reservation. */
export function walletBudgetMessage(spent: bigint, cap: bigint, amount: bigint): string {
  return `the wallet has spent ${formatUsdc(spent)} of its ${formatUsdc(cap)} USDC 24-hour budget; ${formatUsdc(amount)} more would exceed it`;
}

export type PolicyDecision = { allowed: true } | { allowed: false; reason: PolicyRejection; message: string };

function sameAddress(a: string, b: string): boolean {
  return (
    isAddress(a, { strict: false }) && isAddress(b, { strict: false }) && getAddress(a) === getAddress(b)
  );
}

/**
 * The spending rules that hold below the model (DESIGN.md "Safety rules"). Pure: the x402 client's
 * policy hook and the signing boundary both call it, so the two can never disagree.
 *
 * @example
 * evaluatePayment(policy, { authorizedAmount: 40_000n, spent: 0n }, { amount: 40_000n, payTo, asset, network: 'eip155:84532' });
 */
export function evaluatePayment(
  policy: SpendingPolicy,
  state: SpendingState,
  intent: PaymentIntent,
): PolicyDecision {
  const reject = (reason: PolicyRejection, message: string): PolicyDecision => ({
    allowed: false,
    reason,
    message,
  });
  if (intent.amount <= 0n) return reject('invalid_amount', 'payment amount must be positive');
  if (intent.network !== policy.network.caip2 && intent.network !== policy.network.v1Name) {
    return reject(
      'network_mismatch',
      `payment network ${intent.network} is not the configured ${policy.network.v1Name}`,
    );
  }
  if (intent.chainId !== undefined && intent.chainId !== policy.network.chainId) {
    return reject('network_mismatch', `chain id ${intent.chainId} is not ${policy.network.chainId}`);
  }
  if (!sameAddress(intent.asset, policy.network.usdcAddress)) {
    return reject('asset_not_usdc', `asset ${intent.asset} is not USDC on ${policy.network.displayName}`);
  }
  if (!sameAddress(intent.payTo, policy.sellerAddress)) {
    return reject('pay_to_not_seller', `payee ${intent.payTo} is not the configured seller`);
  }
  if (state.authorizedAmount === undefined) {
    return reject('not_authorized', 'no payment has been authorized for the current request');
  }
  if (intent.amount > state.authorizedAmount) {
    return reject(
      'amount_exceeds_authorization',
      `amount ${formatUsdc(intent.amount)} USDC exceeds the authorized estimate of ${formatUsdc(state.authorizedAmount)} USDC`,
    );
  }
  if (intent.amount > policy.maxPayment) {
    return reject(
      'amount_exceeds_payment_cap',
      `amount ${formatUsdc(intent.amount)} USDC exceeds the per-payment cap of ${formatUsdc(policy.maxPayment)} USDC`,
    );
  }
  if (state.spent + intent.amount > policy.sessionBudget) {
    return reject(
      'session_budget_exceeded',
      `this session has spent ${formatUsdc(state.spent)} of its ${formatUsdc(policy.sessionBudget)} USDC budget; ${formatUsdc(intent.amount)} more would exceed it`,
    );
  }
  if (state.walletSpent24h !== undefined && state.walletSpent24h + intent.amount > policy.walletBudget24h) {
    return reject(
      'wallet_budget_exceeded',
      walletBudgetMessage(state.walletSpent24h, policy.walletBudget24h, intent.amount),
    );
  }
  return { allowed: true };
}

/**
 * A batch-settlement session's channel as the policy sees it (all atomic USDC). `charged` is what
 * the session recorded as charged for delivered images (its `spent`), the baseline of the next
 * voucher; `deposited` counts every deposit signed and not proven unsent (money that left, or may
 * have left, the wallet for the channel); `signedMax` is the highest cumulative voucher signed.
 */
export interface ChannelSpendingState {
  /** The estimate the user authorized, or undefined when nothing is authorized. */
  authorizedAmount: bigint | undefined;
  /** The session's channel id (bytes32), fixed by its first deposit. */
  channelId: `0x${string}` | undefined;
  charged: bigint;
  deposited: bigint;
  signedMax: bigint;
  /** `purchase` while an authorized image is being bought; `refund` while the session closes. */
  mode: 'purchase' | 'refund';
}

/** An EIP-3009 ReceiveWithAuthorization into the deposit collector, about to be signed. */
export interface DepositIntent {
  amount: bigint;
  /** The authorization's `to`: must be the deposit collector `@x402/evm` uses. */
  to: string;
  /** The token: the EIP-712 domain's verifying contract. */
  asset: string;
  chainId: number;
}

/** A cumulative EIP-712 voucher, about to be signed. */
export interface VoucherIntent {
  channelId: string;
  /** The voucher's cumulative ceiling (`maxClaimableAmount`). */
  cumulative: bigint;
  chainId: number;
  /** The EIP-712 domain's verifying contract: the channel contract. */
  verifyingContract: string;
}

/** Where batch-settlement money may go on this chain (`@x402/evm`'s addresses). */
export interface ChannelContracts {
  channel: string;
  depositCollector: string;
}

function rejection(reason: PolicyRejection, message: string): PolicyDecision {
  return { allowed: false, reason, message };
}

/**
 * The deposit rule: a session deposits into its channel at most its budget, and only while the user
 * has authorized a purchase. The deposit is the money that leaves the wallet, so it is also what the
 * wallet-wide 24-hour budget reserves (at the signing boundary).
 *
 * @example
 * evaluateDeposit(policy, contracts, state, { amount: 1_000_000n, to: collector, asset: usdc, chainId: 84532 });
 */
export function evaluateDeposit(
  policy: SpendingPolicy,
  contracts: ChannelContracts,
  state: ChannelSpendingState,
  intent: DepositIntent,
): PolicyDecision {
  if (intent.amount <= 0n) return rejection('invalid_amount', 'deposit amount must be positive');
  if (intent.chainId !== policy.network.chainId) {
    return rejection('network_mismatch', `chain id ${intent.chainId} is not ${policy.network.chainId}`);
  }
  if (!sameAddress(intent.asset, policy.network.usdcAddress)) {
    return rejection('asset_not_usdc', `asset ${intent.asset} is not USDC on ${policy.network.displayName}`);
  }
  if (!sameAddress(intent.to, contracts.depositCollector)) {
    return rejection(
      'deposit_not_to_collector',
      `deposit target ${intent.to} is not the channel's deposit collector`,
    );
  }
  if (state.mode !== 'purchase' || state.authorizedAmount === undefined) {
    return rejection('not_authorized', 'no purchase has been authorized, so nothing is deposited');
  }
  if (state.deposited + intent.amount > policy.sessionBudget) {
    return rejection(
      'session_budget_exceeded',
      `this session has deposited ${formatUsdc(state.deposited)} of its ${formatUsdc(policy.sessionBudget)} USDC budget; a deposit of ${formatUsdc(intent.amount)} more would exceed it`,
    );
  }
  return { allowed: true };
}

/**
 * The voucher rule. A purchase voucher raises the channel's cumulative ceiling by the image's price
 * over what the session was charged, and that increment passes the same rules as an exact payment
 * ({@link evaluatePayment}: at most the authorized estimate and the per-payment cap, the session's
 * total at most its budget); the ceiling never exceeds what the session deposited. A refund voucher
 * (zero-charge, the spec's cooperative refund) may not raise the ceiling above one already signed.
 * Both must be for the session's own channel on the configured chain.
 */
export function evaluateVoucher(
  policy: SpendingPolicy,
  contracts: ChannelContracts,
  state: ChannelSpendingState,
  intent: VoucherIntent,
): PolicyDecision {
  if (intent.chainId !== policy.network.chainId) {
    return rejection('network_mismatch', `chain id ${intent.chainId} is not ${policy.network.chainId}`);
  }
  if (!sameAddress(intent.verifyingContract, contracts.channel)) {
    return rejection(
      'unexpected_channel',
      `voucher domain ${intent.verifyingContract} is not the channel contract`,
    );
  }
  if (state.channelId === undefined || intent.channelId.toLowerCase() !== state.channelId.toLowerCase()) {
    return rejection(
      'unexpected_channel',
      `voucher channel ${intent.channelId} is not this session's channel`,
    );
  }
  if (state.mode === 'refund') {
    if (intent.cumulative > state.signedMax) {
      return rejection(
        'refund_voucher_charges',
        `a refund voucher for ${formatUsdc(intent.cumulative)} USDC would raise the signed ceiling of ${formatUsdc(state.signedMax)} USDC`,
      );
    }
    return { allowed: true };
  }
  const increment = intent.cumulative - state.charged;
  const decision = evaluatePayment(
    policy,
    { authorizedAmount: state.authorizedAmount, spent: state.charged },
    {
      amount: increment,
      payTo: policy.sellerAddress,
      asset: policy.network.usdcAddress,
      network: policy.network.caip2,
      chainId: intent.chainId,
    },
  );
  if (!decision.allowed) return decision;
  if (intent.cumulative > state.deposited) {
    return rejection(
      'voucher_exceeds_deposit',
      `a voucher for ${formatUsdc(intent.cumulative)} USDC exceeds the ${formatUsdc(state.deposited)} USDC deposited in this session`,
    );
  }
  return { allowed: true };
}
