import { isAppError } from '@agentic-payments/x402';
import { resolveWallet, walletFailure } from './cdp-secret.ts';
import { loadConfig } from './config.ts';
import { createAgentWallet } from './wallet.ts';

/**
 * Prints the deployment's agent wallet address, creating the CDP account the first time (the same
 * `getOrCreateAccount` by name the agent runs at every start), so the operator can fund it before the
 * first chat:
 *
 *   CDP_SECRET_ARN=<CdpSecretArn> AWS_REGION=<region> pnpm --filter @agentic-payments/agent wallet-address
 */
export async function printWalletAddress(
  env: Record<string, string | undefined>,
  out: { stdout: (text: string) => void; stderr: (text: string) => void },
): Promise<number> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(env);
  } catch (error) {
    out.stderr(`${isAppError(error) ? error.message : String(error)}\n`);
    return 2;
  }
  if (config.wallet.kind === 'private-key') {
    out.stderr(
      'set CDP_SECRET_ARN (or CDP_API_KEY_ID, CDP_API_KEY_SECRET and CDP_WALLET_SECRET): the devnet wallet needs no funding step\n',
    );
    return 2;
  }
  try {
    const wallet = await createAgentWallet({
      wallet: await resolveWallet(config),
      network: config.network,
      rpcUrl: config.rpcUrl,
    });
    out.stdout(`${wallet.address}\n`);
    return 0;
  } catch (error) {
    out.stderr(`${walletFailure(error).message}\n`);
    return 1;
  }
}
