import { x402Client } from '@x402/core/client';
import type { PaymentRequirements } from '@x402/core/types';
import { type ClientEvmSigner, ExactEvmScheme } from '@x402/evm';
import { ExactEvmSchemeV1 } from '@x402/evm/exact/v1/client';
import { wrapFetchWithPayment } from '@x402/fetch';
import { getAddress, isAddress } from 'viem';
import {
  evaluatePayment,
  type PaymentIntent,
  type SpendingPolicy,
  type SpendingState,
} from './spending-policy.ts';
import type { AgentWallet, TypedDataToSign } from './wallet.ts';

/** Thrown at the signing boundary when a signature would break the spending policy. */
export class PaymentRefusedError extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'PaymentRefusedError';
  }
}

function toBigInt(value: unknown): bigint | undefined {
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
): PaymentIntent {
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
  if (amount === undefined || chainId === undefined) {
    throw new PaymentRefusedError('unsupported_signature', 'authorization has no amount or chain id');
  }
  return {
    amount,
    payTo: String(message.to),
    asset: String(domain.verifyingContract),
    network,
    chainId: Number(chainId),
  };
}

/**
 * A ClientEvmSigner for the official x402 EVM scheme that re-checks the spending policy on the exact
 * bytes about to be signed. This is the last line: even if the x402 client's own policy were
 * bypassed, nothing outside the policy gets a signature.
 */
export function createGuardedSigner(
  wallet: AgentWallet,
  policy: SpendingPolicy,
  state: () => SpendingState,
  onSigned?: (intent: PaymentIntent) => void,
): ClientEvmSigner {
  return {
    address: wallet.address,
    async signTypedData(typedData) {
      const intent = intentFromTypedData(typedData, wallet.address, policy.network.caip2);
      const decision = evaluatePayment(policy, state(), intent);
      if (!decision.allowed) throw new PaymentRefusedError(decision.reason, decision.message);
      const signature = await wallet.signTypedData(typedData);
      onSigned?.(intent);
      return signature;
    },
  };
}

function requirementAmount(requirement: PaymentRequirements): bigint | undefined {
  const raw = requirement as unknown as Record<string, unknown>;
  return toBigInt(raw.amount ?? raw.maxAmountRequired);
}

export interface PaidFetchOptions {
  wallet: AgentWallet;
  policy: SpendingPolicy;
  /** Read at signing time so the policy sees the session's latest authorization and spend. */
  state: () => SpendingState;
  fetch?: typeof globalThis.fetch;
  onSigned?: (intent: PaymentIntent) => void;
}

/**
 * A fetch that pays x402 402s through the official client (`@x402/fetch` + `@x402/core` +
 * `@x402/evm` exact scheme, v2 `PAYMENT-SIGNATURE` and v1), with the spending policy applied three
 * times: as an x402 payment policy (filters requirements), as a before-creation hook (aborts), and
 * in the signer itself.
 *
 * @example
 * const paidFetch = createPaidFetch({ wallet, policy, state: () => ({ authorizedAmount: 40_000n, spent: 0n }) });
 * await paidFetch(`${gatewayUrl}/generate_image`, { method: 'POST', body });
 */
export function createPaidFetch(options: PaidFetchOptions): typeof globalThis.fetch {
  const { policy, state } = options;
  const signer = createGuardedSigner(options.wallet, policy, state, options.onSigned);
  const allowed = (requirement: PaymentRequirements) => {
    const amount = requirementAmount(requirement);
    if (amount === undefined) return false;
    return evaluatePayment(policy, state(), {
      amount,
      payTo: requirement.payTo,
      asset: requirement.asset,
      network: requirement.network,
    }).allowed;
  };
  const client = new x402Client()
    .register(policy.network.caip2, new ExactEvmScheme(signer))
    .registerV1(policy.network.v1Name, new ExactEvmSchemeV1(signer))
    .registerPolicy((_version, requirements) => requirements.filter(allowed))
    .setSpendControls({
      maxAmountPerPayment: false,
      allowedAssets: [
        {
          network: policy.network.caip2,
          asset: policy.network.usdcAddress,
          maxAmountPerPayment: policy.maxPayment.toString(),
        },
      ],
    })
    .onBeforePaymentCreation(async ({ selectedRequirements }) => {
      const amount = requirementAmount(selectedRequirements);
      const decision =
        amount === undefined
          ? ({ allowed: false, reason: 'invalid_amount', message: 'no amount in requirements' } as const)
          : evaluatePayment(policy, state(), {
              amount,
              payTo: selectedRequirements.payTo,
              asset: selectedRequirements.asset,
              network: selectedRequirements.network,
            });
      return decision.allowed
        ? undefined
        : { abort: true, reason: `${decision.reason}: ${decision.message}` };
    });
  return wrapFetchWithPayment(options.fetch ?? globalThis.fetch, client) as typeof globalThis.fetch;
}
