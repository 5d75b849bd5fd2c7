import { walkErrors } from '@agentic-payments/x402';
import { x402Client, x402HTTPClient } from '@x402/core/client';
import { decodePaymentResponseHeader } from '@x402/core/http';
import type { PaymentRequirements, SettleResponse } from '@x402/core/types';
import {
  BATCH_SETTLEMENT_ADDRESS,
  BATCH_SETTLEMENT_SCHEME,
  BatchSettlementEvmScheme,
  type ClientEvmSigner,
  ERC3009_DEPOSIT_COLLECTOR_ADDRESS,
} from '@x402/evm';
import {
  type BatchSettlementClientContext,
  type BatchSettlementDepositStrategyContext,
  buildChannelConfig,
  type ClientChannelStorage,
  computeChannelId,
  refundChannel,
} from '@x402/evm/batch-settlement/client';
import { wrapFetchWithPayment } from '@x402/fetch';
import { getAddress, isAddress, keccak256, stringToHex } from 'viem';
import {
  evaluateRequirement,
  neverConnected,
  PaymentFailedError,
  PaymentRefusedError,
  provablyUnsettled,
  refusal,
  spendControls,
  toBigInt,
} from './payment-client.ts';
import {
  type ChannelContracts,
  type ChannelSpendingState,
  evaluateDeposit,
  evaluateVoucher,
  type PolicyDecision,
  type SpendingPolicy,
  walletBudgetMessage,
} from './spending-policy.ts';
import type { AgentWallet, TypedDataToSign } from './wallet.ts';
import type { WalletBudget } from './wallet-budget.ts';

/** The channel contract and deposit collector, at the addresses `@x402/evm` uses on every chain. */
export const CHANNEL_CONTRACTS: ChannelContracts = {
  channel: BATCH_SETTLEMENT_ADDRESS,
  depositCollector: ERC3009_DEPOSIT_COLLECTOR_ADDRESS,
};

/**
 * The channel salt of a session. Channel ids hash the salt, so each session of the wallet has its own
 * channel (no state shared between sessions) and finds it again after a restart or state loss (the
 * official client recovers a channel from chain by recomputing its id).
 */
export function sessionChannelSalt(sessionId: string): `0x${string}` {
  return keccak256(stringToHex(`agentic-payments/agent-session/${sessionId}`));
}

/**
 * What the channel signer and paid fetch need from the session: its spending state, and where to
 * record each step (the session record, persisted at once: a signed deposit is money in flight).
 */
export interface ChannelSessionPort {
  state(): ChannelSpendingState;
  /**
   * The seller's requirements name the channel (receiver, authorizer, withdraw delay); the session
   * binds to it on its first deposit and refuses any other afterwards (`unexpected_channel`).
   */
  bindChannel(channelId: `0x${string}`): PolicyDecision | Promise<PolicyDecision>;
  depositSigned(reservationId: string, amount: bigint): Promise<void>;
  /** The seller answered 200: the deposit is on chain (its transaction from the PAYMENT-RESPONSE). */
  depositConfirmed(reservationId: string, transactionHash: string | undefined): Promise<void>;
  /** The deposit provably moved no money (never sent, or rejected before settlement). */
  depositReleased(reservationId: string): Promise<void>;
  voucherSigned(cumulative: bigint): void;
}

function refused(decision: PolicyDecision): void {
  if (!decision.allowed) throw refusal(decision);
}

function fromWallet(value: unknown, wallet: `0x${string}`): boolean {
  return (
    typeof value === 'string' &&
    isAddress(value, { strict: false }) &&
    getAddress(value) === getAddress(wallet)
  );
}

export interface ChannelSignerOptions {
  budget: WalletBudget;
  session: ChannelSessionPort;
  contracts?: ChannelContracts;
  /** A deposit authorization was signed (its reservation id is its EIP-3009 nonce). */
  onDepositSigned?: (reservationId: string, amount: bigint) => void;
}

/**
 * The ClientEvmSigner handed to the official batch-settlement client. It signs two kinds of typed
 * data and nothing else, each re-checked on the exact bytes about to be signed:
 * - the deposit's EIP-3009 `ReceiveWithAuthorization` into the deposit collector
 *   ({@link evaluateDeposit}), reserved in the wallet's 24-hour budget before it is signed;
 * - the cumulative `Voucher` ({@link evaluateVoucher}): its increment over what the session was
 *   charged passes the same rules as an exact payment. A voucher moves no money from the wallet,
 *   so it reserves nothing; the deposit already did.
 */
export function createChannelSigner(
  wallet: AgentWallet,
  policy: SpendingPolicy,
  options: ChannelSignerOptions,
): ClientEvmSigner {
  const { budget, session } = options;
  const contracts = options.contracts ?? CHANNEL_CONTRACTS;
  const signer: ClientEvmSigner = {
    address: wallet.address,
    async signTypedData(typedData: TypedDataToSign) {
      const { domain, message } = typedData;
      const chainId = toBigInt(domain.chainId);
      if (typedData.primaryType === 'ReceiveWithAuthorization') {
        const amount = toBigInt(message.value);
        const nonce = typeof message.nonce === 'string' ? message.nonce : undefined;
        if (
          !fromWallet(message.from, wallet.address) ||
          amount === undefined ||
          !nonce ||
          chainId === undefined
        ) {
          throw new PaymentRefusedError('unsupported_signature', 'deposit authorization is malformed');
        }
        refused(
          evaluateDeposit(policy, contracts, session.state(), {
            amount,
            to: String(message.to),
            asset: String(domain.verifyingContract),
            chainId: Number(chainId),
          }),
        );
        let reserved: Awaited<ReturnType<WalletBudget['reserve']>>;
        try {
          reserved = await budget.reserve(nonce, amount);
        } catch (error) {
          throw new PaymentRefusedError(
            'wallet_budget_unavailable',
            'the wallet budget could not be checked, so nothing was signed',
            { cause: error },
          );
        }
        if (!reserved.ok) {
          throw new PaymentRefusedError(
            'wallet_budget_exceeded',
            walletBudgetMessage(reserved.spent, reserved.cap, amount),
          );
        }
        let signature: `0x${string}`;
        try {
          await session.depositSigned(nonce, amount);
          signature = await wallet.signTypedData(typedData);
        } catch (error) {
          await budget.release(nonce);
          await session.depositReleased(nonce);
          throw error;
        }
        options.onDepositSigned?.(nonce, amount);
        return signature;
      }
      if (typedData.primaryType === 'Voucher') {
        const cumulative = toBigInt(message.maxClaimableAmount);
        const channelId = message.channelId;
        if (cumulative === undefined || typeof channelId !== 'string' || chainId === undefined) {
          throw new PaymentRefusedError('unsupported_signature', 'voucher is malformed');
        }
        refused(
          evaluateVoucher(policy, contracts, session.state(), {
            channelId,
            cumulative,
            chainId: Number(chainId),
            verifyingContract: String(domain.verifyingContract),
          }),
        );
        const signature = await wallet.signTypedData(typedData);
        session.voucherSigned(cumulative);
        return signature;
      }
      throw new PaymentRefusedError(
        'unsupported_signature',
        `refusing to sign ${typedData.primaryType}; only channel deposits and vouchers in this session`,
      );
    },
  };
  if (wallet.readContract) {
    const read = wallet.readContract.bind(wallet);
    signer.readContract = (args) => read(args);
  }
  return signer;
}

/**
 * The official client's channel storage port over the session's own record, so the channel's state
 * lives (and is persisted) with the session: a file locally, AgentCore Memory in the cloud. It holds
 * only the session's channel; any other key reads as absent and cannot be written.
 */
export function createSessionChannelStorage(
  channel: () => { channel_id: string; client?: BatchSettlementClientContext } | undefined,
  persist: () => Promise<void>,
): ClientChannelStorage {
  const mine = (key: string) => {
    const current = channel();
    return current && current.channel_id.toLowerCase() === key.toLowerCase() ? current : undefined;
  };
  return {
    async get(key) {
      const client = mine(key)?.client;
      return client ? { ...client } : undefined;
    },
    async set(key, context) {
      const current = mine(key);
      if (!current)
        throw new PaymentRefusedError('unexpected_channel', `channel ${key} is not this session's`);
      current.client = { ...context };
      await persist();
    },
    async delete(key) {
      const current = mine(key);
      if (!current) return;
      delete current.client;
      await persist();
    },
  };
}

/** Makes the deposit at least the voucher needs, and otherwise the session's target (its budget). */
function depositStrategy(target: () => Promise<bigint>) {
  return async (context: BatchSettlementDepositStrategyContext) => {
    const minimum = BigInt(context.minimumDepositAmount);
    const wanted = await target();
    return wanted > minimum ? wanted : minimum;
  };
}

export interface ChannelPaidFetchOptions {
  wallet: AgentWallet;
  policy: SpendingPolicy;
  budget: WalletBudget;
  session: ChannelSessionPort;
  storage: ClientChannelStorage;
  salt: `0x${string}`;
  /**
   * How much the first deposit (or a top-up) should be: the session's unspent budget, within the
   * wallet's 24-hour room. The signer still checks the amount it is handed.
   */
  depositTarget: () => Promise<bigint>;
  contracts?: ChannelContracts;
  fetch?: typeof globalThis.fetch;
}

/** What a paid channel request returned, with the seller's PAYMENT-RESPONSE decoded. */
export interface ChannelPaidResult {
  response: Response;
  settle: SettleResponse | undefined;
  /** The deposit sent with this request, if one was (its reservation id and amount). */
  deposit: { reservationId: string; amount: bigint } | undefined;
}

function batchOffer(requirements: readonly PaymentRequirements[]): PaymentRequirements[] {
  return requirements.filter((r) => r.scheme === BATCH_SETTLEMENT_SCHEME);
}

/**
 * A paid request over the session's payment channel through the official client (`@x402/fetch` +
 * `@x402/core` + `@x402/evm` batch-settlement): the first purchase deposits the session budget with
 * its voucher, later ones send a voucher only. The spending policy applies as for exact payments (on
 * the 402, as an x402 policy, before payload creation) and again in {@link createChannelSigner}.
 *
 * @example
 * const pay = createChannelPaidFetch({ wallet, policy, budget, session, storage, salt, depositTarget });
 * const { response, settle } = await pay(`${gatewayUrl}/generate_image`, { method: 'POST', body });
 */
export function createChannelPaidFetch(
  options: ChannelPaidFetchOptions,
): (input: string, init?: RequestInit) => Promise<ChannelPaidResult> {
  const { policy, budget, session } = options;
  const baseFetch = options.fetch ?? globalThis.fetch;
  const spendingState = () => {
    const state = session.state();
    return { authorizedAmount: state.authorizedAmount, spent: state.charged };
  };

  return async (input, init) => {
    let typed: PaymentRefusedError | PaymentFailedError | undefined;
    let unsent: { reservationId: string; amount: bigint }[] = [];
    let sent: { reservationId: string; amount: bigint } | undefined;
    const guarded = createChannelSigner(options.wallet, policy, {
      budget,
      session,
      ...(options.contracts ? { contracts: options.contracts } : {}),
      onDepositSigned: (reservationId, amount) => {
        unsent.push({ reservationId, amount });
      },
    });
    const signer: ClientEvmSigner = {
      ...guarded,
      signTypedData: async (typedData) => {
        try {
          return await guarded.signTypedData(typedData);
        } catch (error) {
          if (error instanceof PaymentRefusedError) typed = error;
          throw error;
        }
      },
    };
    const scheme = new BatchSettlementEvmScheme(signer, {
      storage: options.storage,
      salt: options.salt,
      // The official client caps a deposit at depositMultiplier × the per-payment cap; the session
      // budget is the deposit here, so the multiplier is the number of capped payments it holds.
      depositPolicy: {
        depositMultiplier: Math.max(
          3,
          Number((policy.sessionBudget + policy.maxPayment - 1n) / policy.maxPayment),
        ),
      },
      depositStrategy: depositStrategy(options.depositTarget),
    });
    const allowed = (r: PaymentRequirements) => evaluateRequirement(policy, spendingState(), r).allowed;
    const client = new x402Client()
      .register(policy.network.caip2, scheme)
      .registerPolicy((_version, requirements) => batchOffer(requirements).filter(allowed))
      .setSpendControls(spendControls(policy))
      .onBeforePaymentCreation(async ({ selectedRequirements }) => {
        const decision = evaluateRequirement(policy, spendingState(), selectedRequirements);
        if (!decision.allowed) {
          typed = refusal(decision);
          return { abort: true, reason: decision.reason };
        }
        // The channel the official client will pay into, from our own payer and salt and the
        // seller's terms; the session keeps one channel.
        const channelId = computeChannelId(
          buildChannelConfig({ signer, storage: options.storage, salt: options.salt }, selectedRequirements),
          selectedRequirements.network,
        );
        const bound = await session.bindChannel(channelId);
        if (!bound.allowed) {
          typed = refusal(bound);
          return { abort: true, reason: bound.reason };
        }
        return undefined;
      });
    const httpClient = new x402HTTPClient(client).onPaymentRequired(async ({ paymentRequired }) => {
      const offers = batchOffer(paymentRequired.accepts);
      if (offers.length === 0) {
        throw new PaymentFailedError(
          'scheme_not_offered',
          'the seller does not offer batch-settlement (PAYMENT_SCHEME=batch-settlement needs it)',
        );
      }
      const decisions = offers.map((r) => evaluateRequirement(policy, spendingState(), r));
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
        if (neverConnected(error)) await releaseAll(answering);
        throw new PaymentFailedError('gateway_unreachable', 'the gateway could not be reached', {
          cause: error,
        });
      }
      if (answering.length > 0) {
        if (response.status === 200) {
          const settle = readSettle(response);
          for (const deposit of answering) {
            await budget.settle(deposit.reservationId);
            await session.depositConfirmed(deposit.reservationId, settle?.transaction || undefined);
          }
          sent = answering.at(-1);
        } else if (await provablyUnsettled(response)) {
          await releaseAll(answering);
        }
      }
      return response;
    };
    const releaseAll = async (deposits: { reservationId: string }[]) => {
      for (const deposit of deposits) {
        await budget.release(deposit.reservationId);
        await session.depositReleased(deposit.reservationId);
      }
    };

    const paidFetch = wrapFetchWithPayment(((request: Request) => send(request)) as typeof fetch, httpClient);
    try {
      const response = await paidFetch(input, init);
      return { response, settle: response.status === 200 ? readSettle(response) : undefined, deposit: sent };
    } catch (error) {
      if (error instanceof PaymentRefusedError || error instanceof PaymentFailedError) throw error;
      const found =
        walkErrors(error, (e) => e instanceof PaymentRefusedError || e instanceof PaymentFailedError) ??
        typed;
      if (found) throw found;
      throw new PaymentFailedError('payment_failed', 'the x402 channel payment could not be made', {
        cause: error,
      });
    } finally {
      // Signed but never sent (the client failed after signing): that deposit went nowhere.
      if (unsent.length > 0) await releaseAll(unsent);
    }
  };
}

function readSettle(response: Response): SettleResponse | undefined {
  const header = response.headers.get('PAYMENT-RESPONSE');
  if (!header) return undefined;
  try {
    return decodePaymentResponseHeader(header);
  } catch {
    return undefined;
  }
}

export interface RefundSessionChannelOptions {
  wallet: AgentWallet;
  policy: SpendingPolicy;
  budget: WalletBudget;
  session: ChannelSessionPort;
  storage: ClientChannelStorage;
  salt: `0x${string}`;
  /**
   * A protected route of the seller: the official client probes it with `GET`, then sends the refund
   * voucher there (`GET /generate_image` takes refunds on our gateway).
   */
  url: string;
  contracts?: ChannelContracts;
  fetch?: typeof globalThis.fetch;
}

/**
 * Asks the seller for the cooperative refund of what the session did not spend, through the
 * official client (`refundChannel`: a zero-charge voucher signed at the charged total). The signer
 * runs in refund mode: it signs that voucher only if it raises no ceiling already signed, and no
 * deposit at all. Returns the seller's settle response (the refund transaction and amount).
 */
export async function refundSessionChannel(options: RefundSessionChannelOptions): Promise<SettleResponse> {
  const signer = createChannelSigner(options.wallet, options.policy, {
    budget: options.budget,
    session: options.session,
    ...(options.contracts ? { contracts: options.contracts } : {}),
  });
  try {
    return await refundChannel({ signer, storage: options.storage, salt: options.salt }, options.url, {
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
  } catch (error) {
    const refusedError = walkErrors(error, (e) => e instanceof PaymentRefusedError);
    if (refusedError) throw refusedError;
    throw new PaymentFailedError('refund_failed', 'the seller did not refund the channel', { cause: error });
  }
}
