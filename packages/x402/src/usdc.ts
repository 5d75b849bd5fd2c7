import type { Address } from 'viem';
import { getNetwork, type NetworkInfo } from './networks.ts';

/** USDC has 6 decimals: 1 USDC = 1_000_000 atomic units. */
export const USDC_DECIMALS = 6;

/**
 * EIP-712 domain name/version of Circle's FiatTokenV2 on Base and Base Sepolia (and of our devnet
 * USDC). x402 puts them in `extra` of the payment requirements so clients can sign offline.
 */
export const USDC_EIP712_DOMAIN = Object.freeze({ name: 'USDC', version: '2' } as const);

/** The USDC contract on a network of the registry. */
export function usdcAddress(network: string | NetworkInfo): Address {
  return getNetwork(network).usdcAddress;
}

/** Full EIP-712 domain of USDC on a network, for viem's signTypedData / verifyTypedData. */
export function usdcEip712Domain(network: string | NetworkInfo): {
  name: 'USDC';
  version: '2';
  chainId: number;
  verifyingContract: Address;
} {
  const info = getNetwork(network);
  return { ...USDC_EIP712_DOMAIN, chainId: info.chainId, verifyingContract: info.usdcAddress };
}
