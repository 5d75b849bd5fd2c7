import { NETWORK_IDS, NETWORKS, type NetworkId } from '@agentic-payments/x402';
import type { Chain } from 'viem';
import { base, baseSepolia } from 'viem/chains';

/** Networks this facilitator can settle on. `devnet` is the local anvil chain that mimics Base Sepolia. */
export const FACILITATOR_NETWORKS = NETWORK_IDS as readonly [NetworkId, ...NetworkId[]];
export type FacilitatorNetwork = NetworkId;

export interface NetworkInfo {
  /** x402 v2 network id (CAIP-2). */
  caip2: `eip155:${number}`;
  /** x402 v1 network name. */
  v1Name: string;
  chain: Chain;
  /** Only a loopback RPC is acceptable (the devnet's keys are public). */
  localOnly: boolean;
  /** Receipt poll interval: fast on the devnet, where blocks are mined on demand. */
  defaultPollingIntervalMs: number;
}

const info = (id: NetworkId, chain: Chain, defaultPollingIntervalMs: number): NetworkInfo => ({
  caip2: NETWORKS[id].caip2,
  v1Name: NETWORKS[id].v1Name,
  chain,
  localOnly: NETWORKS[id].local,
  defaultPollingIntervalMs,
});

// The devnet runs with chain id 84532, so signatures made for Base Sepolia verify on it unchanged.
export const NETWORK_INFO: Record<FacilitatorNetwork, NetworkInfo> = {
  'base-sepolia': info('base-sepolia', baseSepolia, 250),
  base: info('base', base, 250),
  devnet: info('devnet', baseSepolia, 20),
};
