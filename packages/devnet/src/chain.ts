import { type Chain, defineChain } from 'viem';
import { DEVNET_CHAIN_ID, MULTICALL3_ADDRESS } from './constants.ts';

/** A viem chain for the devnet: Base Sepolia's id, the local RPC, Multicall3 at its usual address. */
export function devnetChain(rpcUrl: string): Chain {
  return defineChain({
    id: DEVNET_CHAIN_ID,
    name: 'Devnet (local Base Sepolia stand-in)',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
    contracts: { multicall3: { address: MULTICALL3_ADDRESS } },
    testnet: true,
  });
}
