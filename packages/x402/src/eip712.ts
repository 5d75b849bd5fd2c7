import { type Address, getAddress, type Hex, toHex } from 'viem';
import { AppError, X402_ERROR_CODES } from './errors.ts';
import {
  type ExactEvmAuthorization,
  ExactEvmAuthorization as ExactEvmAuthorizationSchema,
} from './schemas.ts';
import { USDC_EIP712_DOMAIN } from './usdc.ts';

// EIP-3009 typed structs, https://eips.ethereum.org/EIPS/eip-3009 ("Specification").
// Transfer and receive sign the same fields under different struct names.
const AUTHORIZATION_FIELDS = [
  { name: 'from', type: 'address' },
  { name: 'to', type: 'address' },
  { name: 'value', type: 'uint256' },
  { name: 'validAfter', type: 'uint256' },
  { name: 'validBefore', type: 'uint256' },
  { name: 'nonce', type: 'bytes32' },
] as const;

export const TRANSFER_WITH_AUTHORIZATION_TYPES = { TransferWithAuthorization: AUTHORIZATION_FIELDS } as const;

export const RECEIVE_WITH_AUTHORIZATION_TYPES = { ReceiveWithAuthorization: AUTHORIZATION_FIELDS } as const;

export const CANCEL_AUTHORIZATION_TYPES = {
  CancelAuthorization: [
    { name: 'authorizer', type: 'address' },
    { name: 'nonce', type: 'bytes32' },
  ],
} as const;

/** An EIP-3009 authorization with uint256 fields as bigint (inside our code). */
export interface Authorization {
  from: Address;
  to: Address;
  value: bigint;
  validAfter: bigint;
  validBefore: bigint;
  nonce: Hex;
}

export interface Eip712DomainParameters {
  chainId: number;
  /** The token contract (USDC). */
  verifyingContract: Address;
  /** EIP-712 domain name (default `USDC`). */
  name?: string;
  /** EIP-712 domain version (default `2`). */
  version?: string;
}

export interface TransferWithAuthorizationTypedDataParameters extends Eip712DomainParameters {
  authorization: Authorization;
}

function domainOf(parameters: Eip712DomainParameters) {
  return {
    name: parameters.name ?? USDC_EIP712_DOMAIN.name,
    version: parameters.version ?? USDC_EIP712_DOMAIN.version,
    chainId: parameters.chainId,
    verifyingContract: getAddress(parameters.verifyingContract),
  };
}

function messageOf(authorization: Authorization) {
  return {
    from: getAddress(authorization.from),
    to: getAddress(authorization.to),
    value: authorization.value,
    validAfter: authorization.validAfter,
    validBefore: authorization.validBefore,
    nonce: authorization.nonce,
  };
}

/**
 * EIP-712 typed data of an EIP-3009 `TransferWithAuthorization`, ready for viem's
 * `signTypedData` / `verifyTypedData` / `hashTypedData`. This is the message an x402 exact-EVM
 * payment signs.
 *
 * @example
 * const signature = await account.signTypedData(
 *   transferWithAuthorizationTypedData({ chainId: 84532, verifyingContract: usdc, authorization }),
 * );
 */
export function transferWithAuthorizationTypedData(parameters: TransferWithAuthorizationTypedDataParameters) {
  return {
    domain: domainOf(parameters),
    types: TRANSFER_WITH_AUTHORIZATION_TYPES,
    primaryType: 'TransferWithAuthorization' as const,
    message: messageOf(parameters.authorization),
  };
}

/** Typed data of an EIP-3009 `ReceiveWithAuthorization` (the payee must submit it). */
export function receiveWithAuthorizationTypedData(parameters: TransferWithAuthorizationTypedDataParameters) {
  return {
    domain: domainOf(parameters),
    types: RECEIVE_WITH_AUTHORIZATION_TYPES,
    primaryType: 'ReceiveWithAuthorization' as const,
    message: messageOf(parameters.authorization),
  };
}

export interface CancelAuthorizationTypedDataParameters extends Eip712DomainParameters {
  authorizer: Address;
  nonce: Hex;
}

/** Typed data of an EIP-3009 `CancelAuthorization`. */
export function cancelAuthorizationTypedData(parameters: CancelAuthorizationTypedDataParameters) {
  return {
    domain: domainOf(parameters),
    types: CANCEL_AUTHORIZATION_TYPES,
    primaryType: 'CancelAuthorization' as const,
    message: { authorizer: getAddress(parameters.authorizer), nonce: parameters.nonce },
  };
}

/**
 * Wire authorization (decimal strings) → bigint authorization. Validates the input, so it is safe
 * on data that did not come through a schema; throws AppError `invalid_authorization`.
 */
export function authorizationFromWire(wire: ExactEvmAuthorization): Authorization {
  const parsed = ExactEvmAuthorizationSchema.safeParse(wire);
  if (!parsed.success) {
    throw new AppError(X402_ERROR_CODES.invalidAuthorization, 'authorization is malformed', {
      cause: parsed.error,
    });
  }
  const { from, to, value, validAfter, validBefore, nonce } = parsed.data;
  return {
    from,
    to,
    value: BigInt(value),
    validAfter: BigInt(validAfter),
    validBefore: BigInt(validBefore),
    nonce,
  };
}

/** bigint authorization → wire authorization (decimal strings), as x402 payloads carry it. */
export function authorizationToWire(authorization: Authorization): ExactEvmAuthorization {
  for (const key of ['value', 'validAfter', 'validBefore'] as const) {
    if (typeof authorization[key] !== 'bigint' || authorization[key] < 0n) {
      throw new AppError(X402_ERROR_CODES.invalidAuthorization, `${key} must be a non-negative bigint`);
    }
  }
  return {
    from: authorization.from,
    to: authorization.to,
    value: authorization.value.toString(),
    validAfter: authorization.validAfter.toString(),
    validBefore: authorization.validBefore.toString(),
    nonce: authorization.nonce,
  };
}

/** A fresh random 32-byte EIP-3009 nonce (authorizations are single-use per nonce, not sequential). */
export function createAuthorizationNonce(): Hex {
  return toHex(crypto.getRandomValues(new Uint8Array(32)));
}
