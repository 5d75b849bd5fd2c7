import type { NetworkInfo } from '@agentic-payments/x402';
// AgentKit is large (CDP SDK, Solana, ...): it is imported only when a real wallet is built.
import type { EvmWalletProvider, ViemWalletProvider } from '@coinbase/agentkit';
import { createPublicClient, createWalletClient, defineChain, erc20Abi, type Hex, http } from 'viem';
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
  /**
   * A contract read on the wallet's network: the batch-settlement client reads its channel's
   * on-chain balance with it when it has no local record (cold start, recovery).
   */
  readContract?(args: {
    address: `0x${string}`;
    abi: readonly unknown[];
    functionName: string;
    args?: readonly unknown[];
  }): Promise<unknown>;
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
  // The CDP SDK (used by the CDP wallet) reports usage and errors to the same endpoint unless told
  // not to; these are its documented switches, read at each event.
  process.env.DISABLE_CDP_USAGE_TRACKING = 'true';
  process.env.DISABLE_CDP_ERROR_REPORTING = 'true';
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
    readContract: (args) => provider.readContract(args as Parameters<EvmWalletProvider['readContract']>[0]),
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
  const { ViemWalletProvider: ViemProvider } = await import('@coinbase/agentkit');
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
  const provider = await cdpWalletProvider(options.wallet, options.network, chain, options.rpcUrl);
  return walletFromProvider(provider, 'agentkit-cdp', options.network.usdcAddress);
}

type CdpWallet = Extract<WalletConfig, { kind: 'cdp' }>;

/**
 * One CDP account per deployment: looked up by its stable name and created only the first time
 * (`cdp.evm.getOrCreateAccount`, which also settles a race between two first starts: a 409 on
 * create is answered by reading the account the other start made). AgentKit's
 * `CdpEvmWalletProvider.configureWithWallet` cannot do this: without an address it creates a new
 * account on every call, and it always talks to the SDK's default endpoint. So the account is
 * resolved here with the CDP SDK and handed to the provider the way `configureWithWallet` does
 * (its constructor is private in the type declarations only; AgentKit is pinned in package.json).
 */
async function cdpWalletProvider(
  wallet: CdpWallet,
  network: NetworkInfo,
  chain: ReturnType<typeof defineChain>,
  rpcUrl: string,
): Promise<EvmWalletProvider> {
  const [{ CdpEvmWalletProvider }, { CdpClient }] = await Promise.all([
    import('@coinbase/agentkit'),
    import('@coinbase/cdp-sdk'),
  ]);
  const cdp = new CdpClient({
    apiKeyId: wallet.apiKeyId,
    apiKeySecret: wallet.apiKeySecret,
    walletSecret: wallet.walletSecret,
    ...(wallet.apiUrl ? { basePath: wallet.apiUrl } : {}),
  });
  const serverAccount = await cdp.evm.getOrCreateAccount({ name: wallet.accountName });
  type ProviderConfig = {
    publicClient: unknown;
    cdp: unknown;
    serverAccount: unknown;
    network: { protocolFamily: 'evm'; chainId: string; networkId: string };
  };
  const Provider = CdpEvmWalletProvider as unknown as new (config: ProviderConfig) => EvmWalletProvider;
  const provider = new Provider({
    publicClient: createPublicClient({ chain, transport: http(rpcUrl) }),
    cdp,
    serverAccount,
    network: { protocolFamily: 'evm', chainId: String(network.chainId), networkId: network.v1Name },
  });
  if (provider.getAddress().toLowerCase() !== serverAccount.address.toLowerCase()) {
    throw new Error('AgentKit CdpEvmWalletProvider did not take the resolved CDP account');
  }
  return provider;
}
