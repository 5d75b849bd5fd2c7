import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { createBatchSettlementSigner } from './batch-settlement-signer.ts';
import { assertSettlerKeysAllowed, resolveBatchSettlementConfig, resolveGasLimit } from './config.ts';
import { createFacilitatorApp } from './facilitator-app.ts';
import { createJsonLogger, type Logger } from './logger.ts';
import { type FacilitatorNetwork, NETWORK_INFO } from './networks.ts';
import { createPaymentFacilitator } from './payment-facilitator.ts';
import { createSettlerSigner, type SettlerStats } from './settler-signer.ts';

export interface StartFacilitatorOptions {
  rpcUrl: string;
  /** Settler key, or several (round-robin, each with its own nonce sequence). */
  privateKey: Hex | readonly Hex[];
  network: FacilitatorNetwork;
  /** 0 picks a free port. */
  port: number;
  host?: string;
  /** Bound on every receipt wait; past it, settle answers `settlement_pending` with the hash. */
  receiptTimeoutMs?: number;
  pollingIntervalMs?: number;
  /** Fixed settlement gas limit, or 'estimate'. Default: fixed on the devnet, estimated elsewhere. */
  gasLimit?: number | 'estimate';
  /**
   * The batch-settlement scheme beside exact (default: served). `false` turns it off.
   * `receiverAuthorizerKey`: the key this facilitator signs claims and refunds with for channels
   * that delegate to it (default: the devnet authorizer on the devnet, none elsewhere; `null`:
   * none). `authorizerTokens`: bearer tokens allowed to ask for those signatures (default on the
   * devnet: anyone; required elsewhere).
   */
  batchSettlement?: false | { receiverAuthorizerKey?: Hex | null; authorizerTokens?: readonly string[] };
  logger?: Logger;
}

export interface RunningFacilitator {
  url: string;
  /** The first settler address. */
  address: Hex;
  addresses: readonly Hex[];
  /** The batch-settlement receiver authorizer this facilitator advertises, if any. */
  receiverAuthorizer: Hex | undefined;
  stats(): SettlerStats;
  stop(): Promise<void>;
}

/**
 * Starts the facilitator on Node (tests, the local stack's start script).
 *
 * @example
 * const facilitator = await startFacilitator({ rpcUrl: devnet.rpcUrl, privateKey, network: 'devnet', port: 0 });
 * // ... new HTTPFacilitatorClient({ url: facilitator.url })
 * await facilitator.stop();
 */
export async function startFacilitator(options: StartFacilitatorOptions): Promise<RunningFacilitator> {
  const privateKeys: Hex[] =
    typeof options.privateKey === 'string' ? [options.privateKey] : [...options.privateKey];
  assertSettlerKeysAllowed({ network: options.network, rpcUrl: options.rpcUrl, privateKeys });
  const info = NETWORK_INFO[options.network];
  const logger = options.logger ?? createJsonLogger();
  const signer = createSettlerSigner({
    rpcUrl: options.rpcUrl,
    chain: info.chain,
    privateKeys,
    receiptTimeoutMs: options.receiptTimeoutMs ?? 15_000,
    pollingIntervalMs: options.pollingIntervalMs ?? info.defaultPollingIntervalMs,
    gasLimit: resolveGasLimit(options.network, options.gasLimit),
    syncSend: info.localOnly,
  });
  const batchOptions = options.batchSettlement === false ? undefined : (options.batchSettlement ?? {});
  const batchConfig =
    batchOptions &&
    resolveBatchSettlementConfig({
      network: options.network,
      rpcUrl: options.rpcUrl,
      receiverAuthorizerKey: batchOptions.receiverAuthorizerKey,
      authorizerTokens: batchOptions.authorizerTokens ? [...batchOptions.authorizerTokens] : undefined,
    });
  const receiverAuthorizer = batchConfig?.receiverAuthorizerKey
    ? privateKeyToAccount(batchConfig.receiverAuthorizerKey)
    : undefined;
  const app = createFacilitatorApp({
    facilitator: createPaymentFacilitator({
      signer,
      network: info,
      ...(batchConfig
        ? {
            batchSettlement: {
              signer: createBatchSettlementSigner(signer),
              ...(receiverAuthorizer ? { receiverAuthorizer } : {}),
              ...(batchConfig.authorizerTokens ? { authorizerTokens: batchConfig.authorizerTokens } : {}),
            },
          }
        : {}),
    }),
    logger,
  });
  const host = options.host ?? '127.0.0.1';
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: options.port, hostname: host }, () => resolve(s));
    s.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  const addresses = signer.getAddresses();
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  logger.info('listening', { url, network: info.caip2, signers: addresses.join(',') });
  return {
    url,
    address: addresses[0] as Hex,
    addresses,
    receiverAuthorizer: receiverAuthorizer?.address,
    stats: () => signer.stats(),
    stop: () =>
      new Promise<void>((resolve) => {
        signer.close();
        server.close(() => resolve());
        // Keep-alive connections would hold close() open.
        if ('closeAllConnections' in server) server.closeAllConnections();
      }),
  };
}
