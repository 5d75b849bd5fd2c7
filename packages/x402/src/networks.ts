import type { Address, Hex } from 'viem';
import { AppError, X402_ERROR_CODES } from './errors.ts';

export type NetworkId = 'base-sepolia' | 'base' | 'devnet';
/** x402 v1 network names (the `network` field of v1 requirements and payloads). */
export type V1NetworkName = 'base-sepolia' | 'base';
/** CAIP-2 chain id as used by x402 v2 (`eip155:<chainId>`). */
export type Caip2Network = `eip155:${number}`;

export interface NetworkInfo {
  readonly id: NetworkId;
  /**
   * What a person reads (chat, demo, start banner, explorer, the agent's replies). Wire fields keep
   * the protocol ids (`v1Name`, `caip2`): the devnet's are Base Sepolia's, its display name is not.
   */
  readonly displayName: string;
  readonly v1Name: V1NetworkName;
  readonly caip2: Caip2Network;
  readonly chainId: number;
  readonly usdcAddress: Address;
  readonly explorerUrl: string;
  readonly testnet: boolean;
  /** True for the local stand-in chain (anvil), which reuses Base Sepolia's ids on purpose. */
  readonly local: boolean;
}

export const BASE_SEPOLIA_USDC_ADDRESS: Address = '0x036CbD53842c5426634e7929541eC2318f3dCF7e';
export const BASE_USDC_ADDRESS: Address = '0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913';
export const DEFAULT_DEVNET_EXPLORER_URL = 'http://127.0.0.1:4000';
/** The devnet's one display name: it says "local" and "stand-in", so nobody takes it for the real testnet. */
export const DEVNET_DISPLAY_NAME = 'Local devnet — Base Sepolia stand-in (chain 84532)';

/**
 * Networks this project pays on. The devnet is a local anvil chain that uses Base Sepolia's chain
 * id and USDC address, so EIP-712 signatures made for Base Sepolia are valid on it unchanged; it is
 * therefore indistinguishable on the wire (same v1 name and CAIP-2 id), and only its explorer differs.
 */
export const NETWORKS: Readonly<Record<NetworkId, NetworkInfo>> = Object.freeze({
  'base-sepolia': Object.freeze({
    id: 'base-sepolia',
    displayName: 'Base Sepolia testnet (chain 84532)',
    v1Name: 'base-sepolia',
    caip2: 'eip155:84532',
    chainId: 84532,
    usdcAddress: BASE_SEPOLIA_USDC_ADDRESS,
    explorerUrl: 'https://sepolia.basescan.org',
    testnet: true,
    local: false,
  }),
  base: Object.freeze({
    id: 'base',
    displayName: 'Base mainnet (chain 8453)',
    v1Name: 'base',
    caip2: 'eip155:8453',
    chainId: 8453,
    usdcAddress: BASE_USDC_ADDRESS,
    explorerUrl: 'https://basescan.org',
    testnet: false,
    local: false,
  }),
  devnet: Object.freeze({
    id: 'devnet',
    displayName: DEVNET_DISPLAY_NAME,
    v1Name: 'base-sepolia',
    caip2: 'eip155:84532',
    chainId: 84532,
    usdcAddress: BASE_SEPOLIA_USDC_ADDRESS,
    explorerUrl: DEFAULT_DEVNET_EXPLORER_URL,
    testnet: true,
    local: true,
  }),
});

export const NETWORK_IDS = Object.keys(NETWORKS) as readonly NetworkId[];

/**
 * Finds a network by our id (`devnet`), x402 v1 name (`base-sepolia`) or CAIP-2 id (`eip155:84532`).
 * A v1 name or CAIP-2 id shared by Base Sepolia and the devnet resolves to Base Sepolia; ask for
 * `devnet` by id. Throws AppError `unsupported_network` for anything else.
 *
 * @example
 * getNetwork('eip155:8453').usdcAddress; // '0x8335...2913'
 */
export function getNetwork(nameOrCaip2: string | NetworkInfo): NetworkInfo {
  if (typeof nameOrCaip2 === 'object' && nameOrCaip2 !== null) return nameOrCaip2;
  if (typeof nameOrCaip2 === 'string') {
    if (Object.hasOwn(NETWORKS, nameOrCaip2)) return NETWORKS[nameOrCaip2 as NetworkId];
    for (const id of NETWORK_IDS) {
      const network = NETWORKS[id];
      if (network.local) continue;
      if (network.v1Name === nameOrCaip2 || network.caip2 === nameOrCaip2) return network;
    }
  }
  throw new AppError(
    X402_ERROR_CODES.unsupportedNetwork,
    `unsupported network ${JSON.stringify(String(nameOrCaip2)).slice(0, 80)}; expected one of ${NETWORK_IDS.join(', ')} or their CAIP-2 ids`,
  );
}

/**
 * The display name for a network given by our id, v1 name or CAIP-2 id; `local` picks the devnet for
 * the ids it shares with Base Sepolia. Unknown ids are returned as they are.
 *
 * @example
 * networkDisplayName('base-sepolia', { local: true }); // 'Local devnet — Base Sepolia stand-in (chain 84532)'
 */
export function networkDisplayName(nameOrCaip2: string, options: { local?: boolean } = {}): string {
  if (!isSupportedNetwork(nameOrCaip2)) return nameOrCaip2;
  const network = getNetwork(nameOrCaip2);
  if (options.local && network.caip2 === NETWORKS.devnet.caip2) return NETWORKS.devnet.displayName;
  return network.displayName;
}

/** True if `nameOrCaip2` names a network of the registry. */
export function isSupportedNetwork(nameOrCaip2: string): boolean {
  try {
    getNetwork(nameOrCaip2);
    return true;
  } catch {
    return false;
  }
}

/** `base-sepolia` → `eip155:84532` (CAIP-2 ids pass through if known). */
export function toCaip2(nameOrCaip2: string | NetworkInfo): Caip2Network {
  return getNetwork(nameOrCaip2).caip2;
}

/** `eip155:84532` → `base-sepolia` (v1 names pass through if known). */
export function toV1Network(nameOrCaip2: string | NetworkInfo): V1NetworkName {
  return getNetwork(nameOrCaip2).v1Name;
}

const TX_HASH_RE = /^0x[0-9a-fA-F]{64}$/;

function explorerBaseOf(network: string | NetworkInfo, explorerBase: string | undefined): string {
  return (explorerBase ?? getNetwork(network).explorerUrl).replace(/\/+$/, '');
}

/**
 * Link to a transaction on the network's explorer (BaseScan, or the devnet explorer; pass
 * `explorerBase` when the devnet explorer does not run on its default address).
 */
export function explorerTxUrl(
  network: string | NetworkInfo,
  hash: Hex | string,
  explorerBase?: string,
): string {
  if (!TX_HASH_RE.test(hash)) {
    throw new AppError(
      X402_ERROR_CODES.invalidTxHash,
      'transaction hash must be 0x followed by 64 hex digits',
    );
  }
  return `${explorerBaseOf(network, explorerBase)}/tx/${hash}`;
}

/** Link to an address page on the network's explorer. */
export function explorerAddressUrl(
  network: string | NetworkInfo,
  address: Address | string,
  explorerBase?: string,
): string {
  if (!/^0x[0-9a-fA-F]{40}$/.test(address)) {
    throw new AppError(X402_ERROR_CODES.invalidAddress, 'address must be 0x followed by 40 hex digits');
  }
  return `${explorerBaseOf(network, explorerBase)}/address/${address}`;
}
