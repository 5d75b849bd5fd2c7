import type { NetworkInfo } from '@agentic-payments/x402';
// AgentKit is large (CDP SDK, Solana, ...): it is imported only when a real wallet is built.
import type { EvmWalletProvider, ViemWalletProvider } from '@coinbase/agentkit';
import { createWalletClient, defineChain, erc20Abi, type Hex, http } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { base, baseSepolia } from 'viem/chains';
import type { WalletConfig } from './config.ts';

/** EIP-712 typed data as the x402 EVM scheme hands it to a signer. */
export interface TypedDataToSign {
  domain: Record<string, unknown>;
  types: Record<string, unknown>;
  primaryType: string;
  message: Record<string, unknown>;
}

/** Port: the agent's wallet. AgentKit's ViemWalletProvider on the devnet, CdpEvmWalletProvider in the cloud. */
export interface AgentWallet {
  readonly provider: string;
  readonly address: `0x${string}`;
  signTypedData(typedData: TypedDataToSign): Promise<Hex>;
  balances(): Promise<{ eth: bigint; usdc: bigint }>;
}

let analyticsDisabled = false;

/**
 * AgentKit's WalletProvider constructor schedules `trackInitialization()`, which POSTs to
 * https://cca-lite.coinbase.com/amp and never handles the rejection when the machine is offline
 * (an unhandled rejection ends the process). The agent sends no telemetry: replace that method on
 * the base prototype before any provider is built, so every provider (Viem, CDP) inherits the no-op.
 */
export async function disableAgentKitAnalytics(): Promise<void> {
  if (analyticsDisabled) return;
  const { WalletProvider } = await import('@coinbase/agentkit');
  Reflect.set(WalletProvider.prototype, 'trackInitialization', function noTelemetry() {});
  analyticsDisabled = true;
}

function walletFromProvider(provider: EvmWalletProvider, name: string, usdc: `0x${string}`): AgentWallet {
  const address = provider.getAddress() as `0x${string}`;
  return {
    provider: name,
    address,
    signTypedData: (typedData) => provider.signTypedData(typedData),
    async balances() {
      const [eth, usdcBalance] = await Promise.all([
        provider.getBalance(),
        provider.readContract({ address: usdc, abi: erc20Abi, functionName: 'balanceOf', args: [address] }),
      ]);
      return { eth, usdc: usdcBalance };
    },
  };
}

export interface CreateAgentWalletOptions {
  wallet: Exclude<WalletConfig, { kind: 'cdp-secret' }>;
  network: NetworkInfo;
  rpcUrl: string;
}

/**
 * Builds the agent's AgentKit wallet with analytics disabled.
 *
 * @example
 * const wallet = await createAgentWallet({ wallet: { kind: 'private-key', privateKey }, network, rpcUrl });
 */
export async function createAgentWallet(options: CreateAgentWalletOptions): Promise<AgentWallet> {
  await disableAgentKitAnalytics();
  const { CdpEvmWalletProvider, ViemWalletProvider: ViemProvider } = await import('@coinbase/agentkit');
  const known = options.network.v1Name === 'base' ? base : baseSepolia;
  const chain = defineChain({ ...known, rpcUrls: { default: { http: [options.rpcUrl] } } });
  if (options.wallet.kind === 'private-key') {
    const client = createWalletClient({
      account: privateKeyToAccount(options.wallet.privateKey),
      chain,
      transport: http(options.rpcUrl),
    });
    // AgentKit pins its own viem (2.38); the client is runtime-compatible, only the nominal types differ.
    type AgentKitWalletClient = ConstructorParameters<typeof ViemWalletProvider>[0];
    const provider = new ViemProvider(client as unknown as AgentKitWalletClient, {
      rpcUrl: options.rpcUrl,
    });
    return walletFromProvider(provider, 'agentkit-viem', options.network.usdcAddress);
  }
  const provider = await CdpEvmWalletProvider.configureWithWallet({
    apiKeyId: options.wallet.apiKeyId,
    apiKeySecret: options.wallet.apiKeySecret,
    walletSecret: options.wallet.walletSecret,
    networkId: options.network.v1Name,
    rpcUrl: options.rpcUrl,
  });
  return walletFromProvider(provider, 'agentkit-cdp', options.network.usdcAddress);
}
