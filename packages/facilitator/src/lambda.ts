import { handle } from 'hono/aws-lambda';
import { privateKeyToAccount } from 'viem/accounts';
import { createBatchSettlementSigner } from './batch-settlement-signer.ts';
import { loadFacilitatorConfig } from './config.ts';
import { createFacilitatorApp } from './facilitator-app.ts';
import { NETWORK_INFO } from './networks.ts';
import { createPaymentFacilitator } from './payment-facilitator.ts';
import { createSettlerSigner } from './settler-signer.ts';

// Lambda entrypoint: the same app, wired once per container from the environment. Keep the
// receipt timeout below the function timeout so a slow chain answers `settlement_pending`.
// Note: the nonce allocator is per container; give each concurrently running container its own
// settler key (or reserved concurrency 1) so two containers never share a nonce sequence.
const config = loadFacilitatorConfig();
const network = NETWORK_INFO[config.network];
const signer = createSettlerSigner({
  rpcUrl: config.rpcUrl,
  chain: network.chain,
  privateKeys: config.privateKeys,
  receiptTimeoutMs: config.receiptTimeoutMs,
  pollingIntervalMs: config.pollingIntervalMs,
  gasLimit: config.gasLimit,
  syncSend: network.localOnly,
});
const batch = config.batchSettlement;
const app = createFacilitatorApp({
  facilitator: createPaymentFacilitator({
    signer,
    network,
    ...(batch
      ? {
          batchSettlement: {
            signer: createBatchSettlementSigner(signer),
            ...(batch.receiverAuthorizerKey
              ? { receiverAuthorizer: privateKeyToAccount(batch.receiverAuthorizerKey) }
              : {}),
            ...(batch.authorizerTokens ? { authorizerTokens: batch.authorizerTokens } : {}),
          },
        }
      : {}),
  }),
});

export const handler = handle(app);
