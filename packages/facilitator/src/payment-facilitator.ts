import { type PendingSettlementStore, x402Facilitator } from '@x402/core/facilitator';
import type { PaymentPayload, PaymentRequirements, SettleResponse, VerifyResponse } from '@x402/core/types';
import { eip3009ABI, type FacilitatorEvmSigner } from '@x402/evm';
import { BatchSettlementEvmScheme } from '@x402/evm/batch-settlement/facilitator';
import type { AuthorizerSigner } from '@x402/evm/batch-settlement/server';
import { ExactEvmScheme } from '@x402/evm/exact/facilitator';
import { ExactEvmSchemeV1 } from '@x402/evm/exact/v1/facilitator';
import { type Address, getAddress, type Hex } from 'viem';
import {
  type BatchSettlementHandlers,
  createBatchSettlementHandlers,
  type SettleAuth,
} from './batch-settlement-facilitator.ts';
import type { NetworkInfo } from './networks.ts';
import { FACILITATOR_REASONS as R } from './reasons.ts';
import type { ExactFacilitatorRequest, FacilitatorRequest } from './request-schema.ts';
import { type SettlementTrace, settlementTrace } from './settlement-trace.ts';

/** `GET /supported`: the official shape, with v1 network names (not CAIP-2) in v1 kinds. */
export interface SupportedAnswer {
  kinds: Array<{ x402Version: number; scheme: string; network: string; extra?: Record<string, unknown> }>;
  extensions: string[];
  signers: Record<string, string[]>;
}

/** What the HTTP layer needs; the in-process fake in tests implements the same shape. */
export interface PaymentFacilitator {
  verify(request: FacilitatorRequest): Promise<VerifyResponse>;
  /** `auth` carries the caller's bearer token (checked only for delegated batch-settlement signatures). */
  settle(request: FacilitatorRequest, auth?: SettleAuth): Promise<SettleResponse>;
  supported(): SupportedAnswer;
  /** Settler addresses and network, for `/health`. */
  describe(): { network: string; v1Network: string; signers: readonly string[] };
}

export interface CreatePaymentFacilitatorParameters {
  signer: FacilitatorEvmSigner;
  network: NetworkInfo;
  /** How long a `settlement_pending` hash is remembered so a retried settle reconciles with it. */
  pendingTtlMs?: number;
  /** The batch-settlement scheme (v2) beside exact; omitted: not served. */
  batchSettlement?: BatchSettlementParameters;
}

export interface BatchSettlementParameters {
  /** The settler signer adapted for the scheme (see `createBatchSettlementSigner`). */
  signer: FacilitatorEvmSigner;
  /**
   * A key that signs `ClaimBatch` / `Refund` for channels whose `receiverAuthorizer` is its
   * address; advertised as `extra.receiverAuthorizer` in `/supported`. It pays no gas. Omitted:
   * servers bring their own receiver authorizer and send its signatures.
   */
  receiverAuthorizer?: AuthorizerSigner;
  /** Bearer tokens allowed to ask for those signatures (required off the devnet). */
  authorizerTokens?: readonly string[];
  /** Where a deposit's pending hash is kept so a retried settle reconciles (default: in memory). */
  pendingSettlementStore?: PendingSettlementStore;
}

interface Authorization {
  key: string;
  asset: Address;
  from: Address;
  nonce: Hex;
  value: bigint;
}

/**
 * The facilitator core: the official `x402Facilitator` with the exact EVM scheme registered for
 * v2 (CAIP-2 id) and v1 (network name) on one configured chain, plus what the official code
 * lacks: an `authorizationState` / balance pre-check (the v1 path never reads it, and a replay
 * should be an answer, not a revert). Settle runs it side by side with the official checks and
 * broadcasts nothing until it passed; v1 verify runs it side by side; v2 verify, whose official
 * simulation already fails a replay or a short balance, runs it only to explain a refusal with
 * stable codes. Also: one settle at a time per
 * authorization, thrown errors mapped to answers, and `settlement_pending` with the hash when
 * a receipt does not arrive in time (v1 included).
 *
 * @example
 * const facilitator = createPaymentFacilitator({ signer, network: NETWORK_INFO.devnet });
 * const answer = await facilitator.settle(parsedRequest);
 */
export function createPaymentFacilitator(params: CreatePaymentFacilitatorParameters): PaymentFacilitator {
  const { signer, network } = params;
  const pendingTtlMs = params.pendingTtlMs ?? 10 * 60_000;
  const official = new x402Facilitator()
    // simulateInSettle stays off (the default): verify already simulated; settle re-checks locally.
    .register(network.caip2, new ExactEvmScheme(signer))
    .registerV1([network.v1Name as `${string}:${string}`], new ExactEvmSchemeV1(signer));
  let batch: BatchSettlementHandlers | undefined;
  if (params.batchSettlement) {
    const { receiverAuthorizer, authorizerTokens, pendingSettlementStore } = params.batchSettlement;
    official.register(
      network.caip2,
      new BatchSettlementEvmScheme(params.batchSettlement.signer, receiverAuthorizer, {
        // No ERC-6492 factory: the facilitator never deploys a payer's smart wallet.
        eip6492AllowedFactories: [],
        ...(pendingSettlementStore ? { pendingSettlementStore } : {}),
      }),
    );
    batch = createBatchSettlementHandlers({
      official,
      network,
      hasReceiverAuthorizer: receiverAuthorizer !== undefined,
      receipts: params.batchSettlement.signer,
      pendingTtlMs,
      ...(authorizerTokens ? { authorizerTokens } : {}),
    });
  }

  const inFlight = new Set<string>();
  const pending = new Map<string, { hash: Hex; at: number }>();

  const networkOf = (request: ExactFacilitatorRequest): string => request.body.paymentRequirements.network;
  const isOurNetwork = (request: ExactFacilitatorRequest): boolean =>
    request.version === 1
      ? request.body.paymentRequirements.network === network.v1Name
      : request.body.paymentRequirements.network === network.caip2;

  // The official types model v1 and v2 payloads as one shape; the bodies were validated by zod.
  const toOfficial = (request: ExactFacilitatorRequest): [PaymentPayload, PaymentRequirements] =>
    [request.body.paymentPayload, request.body.paymentRequirements] as unknown as [
      PaymentPayload,
      PaymentRequirements,
    ];

  /**
   * Replay and balance, read in one JSON-RPC batch (the payer's code is primed for the scheme).
   * Answers a reason to reject, `rpc_unavailable` when the chain cannot be reached (the official
   * code would then report a misleading invalid signature), or undefined to go on.
   */
  const precheck = async (auth: Authorization): Promise<string | undefined> => {
    const [used, balance] = await Promise.allSettled([
      signer.readContract({
        address: auth.asset,
        abi: eip3009ABI,
        functionName: 'authorizationState',
        args: [auth.from, auth.nonce],
      }),
      signer.readContract({
        address: auth.asset,
        abi: eip3009ABI,
        functionName: 'balanceOf',
        args: [auth.from],
      }),
      signer.getCode({ address: auth.from }),
    ]);
    if (unreachable(used) || unreachable(balance)) return RPC_UNAVAILABLE;
    // A token without EIP-3009 reverts here: the official checks report it.
    if (used.status === 'fulfilled' && used.value === true) return R.authorizationAlreadyUsed;
    if (balance.status === 'fulfilled' && typeof balance.value === 'bigint' && balance.value < auth.value) {
      return R.insufficientBalance;
    }
    return undefined;
  };

  const reconcilePending = async (
    request: ExactFacilitatorRequest,
    auth: Authorization,
    hash: Hex,
  ): Promise<SettleResponse> => {
    const base = { network: networkOf(request) as SettleResponse['network'], payer: auth.from };
    try {
      const receipt = await signer.waitForTransactionReceipt({ hash });
      pending.delete(auth.key);
      if (receipt.status === 'success') return { success: true, transaction: hash, ...base };
      return { success: false, errorReason: R.transactionFailed, transaction: hash, ...base };
    } catch (error) {
      return {
        success: false,
        errorReason: R.settlementPending,
        errorMessage: messageOf(error),
        transaction: hash,
        ...base,
      };
    }
  };

  return {
    describe: () => ({ network: network.caip2, v1Network: network.v1Name, signers: signer.getAddresses() }),

    supported: () => official.getSupported(),

    async verify(request) {
      if (request.scheme === 'batch-settlement') {
        if (batch) return batch.verify(request);
        return { isValid: false, invalidReason: R.unsupportedScheme };
      }
      const auth = authorizationOf(request);
      if (!isOurNetwork(request)) {
        return { isValid: false, invalidReason: R.unsupportedNetwork, payer: auth.from };
      }
      const verifyOfficially = async (): Promise<VerifyResponse> => {
        try {
          const [payload, requirements] = toOfficial(request);
          return await official.verify(payload, requirements);
        } catch (error) {
          return {
            isValid: false,
            invalidReason: R.unexpectedVerifyError,
            invalidMessage: messageOf(error),
            payer: auth.from,
          };
        }
      };
      const refused = (rejected: string | undefined): VerifyResponse | undefined => {
        if (rejected === RPC_UNAVAILABLE) {
          return {
            isValid: false,
            invalidReason: R.unexpectedVerifyError,
            invalidMessage: 'the chain RPC is unavailable',
            payer: auth.from,
          };
        }
        return rejected ? { isValid: false, invalidReason: rejected, payer: auth.from } : undefined;
      };
      if (request.version === 1) {
        // The v1 scheme never reads authorizationState: both only read the chain, so they run side
        // by side, and a pre-check refusal wins.
        const [rejected, answer] = await Promise.all([precheck(auth), verifyOfficially()]);
        return refused(rejected) ?? answer;
      }
      // The v2 scheme simulates the transfer, which fails for a used authorization or a short
      // balance: a valid answer needs no pre-check. A refusal is explained by it (our stable codes
      // for replay and balance, rpc_unavailable for a chain that cannot be read).
      const answer = await verifyOfficially();
      if (answer.isValid) return answer;
      return refused(await precheck(auth)) ?? answer;
    },

    async settle(request, callerAuth) {
      if (request.scheme === 'batch-settlement') {
        if (batch) return batch.settle(request, callerAuth);
        const network = request.body.paymentRequirements.network;
        return { success: false, errorReason: R.unsupportedScheme, transaction: '', network };
      }
      const auth = authorizationOf(request);
      const fail = (errorReason: string, transaction = '', errorMessage?: string): SettleResponse => ({
        success: false,
        errorReason,
        ...(errorMessage ? { errorMessage } : {}),
        transaction,
        network: networkOf(request) as SettleResponse['network'],
        payer: auth.from,
      });
      if (!isOurNetwork(request)) return fail(R.unsupportedNetwork);

      const known = pending.get(auth.key);
      if (known && Date.now() - known.at < pendingTtlMs) return reconcilePending(request, auth, known.hash);
      if (inFlight.has(auth.key)) {
        return fail(R.authorizationAlreadyUsed, '', 'a settlement of this authorization is in flight');
      }
      inFlight.add(auth.key);
      try {
        // The pre-check runs side by side with the official scheme's own checks (signature, time
        // window, amount); the signer broadcasts only once it passed (the trace's gate).
        const checked = precheck(auth);
        const trace: SettlementTrace = {
          sent: [],
          pending: undefined,
          gate: checked.then((reason) => reason === undefined),
        };
        let answer: SettleResponse;
        try {
          const [payload, requirements] = toOfficial(request);
          answer = await settlementTrace.run(trace, () => official.settle(payload, requirements));
        } catch (error) {
          answer = fail(R.unexpectedSettleError, trace.sent.at(-1) ?? '', messageOf(error));
        }
        const rejected = await checked;
        if (rejected === RPC_UNAVAILABLE)
          return fail(R.unexpectedSettleError, '', 'the chain RPC is unavailable');
        if (rejected) return fail(rejected);
        if (trace.pending) {
          pending.set(auth.key, { hash: trace.pending, at: Date.now() });
          pruneExpired(pending, pendingTtlMs);
          return fail(R.settlementPending, trace.pending, 'no receipt yet; settle again to reconcile');
        }
        return normaliseSettle(answer);
      } finally {
        inFlight.delete(auth.key);
      }
    },
  };
}

function authorizationOf(request: ExactFacilitatorRequest): Authorization {
  const { authorization } = request.body.paymentPayload.payload;
  const asset = getAddress(request.body.paymentRequirements.asset);
  const from = getAddress(authorization.from);
  const nonce = authorization.nonce.toLowerCase() as Hex;
  return { key: `${asset}:${from}:${nonce}`, asset, from, nonce, value: BigInt(authorization.value) };
}

const CODE = /^[a-z0-9_]+$/;
const RPC_UNAVAILABLE = 'rpc_unavailable';
/** viem's errors for a request that got no JSON-RPC answer (a revert is an answer). */
const TRANSPORT_ERRORS = new Set(['HttpRequestError', 'TimeoutError', 'SocketClosedError']);

function unreachable(result: PromiseSettledResult<unknown>): boolean {
  if (result.status === 'fulfilled') return false;
  let current: unknown = result.reason;
  for (let depth = 0; depth < 6 && current instanceof Error; depth++) {
    if (TRANSPORT_ERRORS.has(current.name)) return true;
    current = current.cause;
  }
  return false;
}

/** The v1 scheme puts raw error messages into `errorReason`; answer a stable code instead. */
function normaliseSettle(answer: SettleResponse): SettleResponse {
  if (answer.success || answer.errorReason === undefined || CODE.test(answer.errorReason)) return answer;
  return {
    ...answer,
    errorReason: classifySettleError(answer.errorReason),
    errorMessage: truncate(answer.errorReason),
  };
}

function classifySettleError(message: string): string {
  if (/authorization.*used|AuthorizationUsedOrCanceled|AuthorizationAlreadyUsed/i.test(message)) {
    return R.authorizationAlreadyUsed;
  }
  if (/exceeds balance|insufficient/i.test(message)) return R.insufficientBalance;
  if (/expired|valid before/i.test(message)) return 'invalid_exact_evm_payload_authorization_valid_before';
  if (/not yet valid/i.test(message)) return 'invalid_exact_evm_payload_authorization_valid_after';
  if (/invalid signature/i.test(message)) return 'invalid_exact_evm_signature';
  return R.unexpectedSettleError;
}

function pruneExpired(map: Map<string, { at: number }>, ttlMs: number): void {
  if (map.size < 1_000) return;
  const now = Date.now();
  for (const [key, entry] of map) if (now - entry.at >= ttlMs) map.delete(key);
}

function messageOf(error: unknown): string {
  const text =
    error instanceof Error ? (error as { shortMessage?: string }).shortMessage || error.message : '';
  return truncate(text || String(error));
}

function truncate(text: string): string {
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}
