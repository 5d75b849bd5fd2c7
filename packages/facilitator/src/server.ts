import { ConfigError, loadFacilitatorConfig } from './config.ts';
import { createJsonLogger } from './logger.ts';
import { startFacilitator } from './start-facilitator.ts';

// Node entrypoint: configuration from the environment (see config.ts), then serve until a signal.
const logger = createJsonLogger();
try {
  const config = loadFacilitatorConfig();
  const running = await startFacilitator({
    rpcUrl: config.rpcUrl,
    privateKey: config.privateKeys,
    network: config.network,
    port: config.port,
    host: config.host,
    receiptTimeoutMs: config.receiptTimeoutMs,
    pollingIntervalMs: config.pollingIntervalMs,
    gasLimit: config.gasLimit === undefined ? 'estimate' : Number(config.gasLimit),
    batchSettlement: config.batchSettlement
      ? {
          receiverAuthorizerKey: config.batchSettlement.receiverAuthorizerKey ?? null,
          ...(config.batchSettlement.authorizerTokens
            ? { authorizerTokens: config.batchSettlement.authorizerTokens }
            : {}),
        }
      : false,
    logger,
  });
  const shutdown = () => {
    void running.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
} catch (error) {
  logger.error('startup failed', {
    code: error instanceof ConfigError ? error.code : 'startup_failed',
    error: error instanceof Error ? error.message : String(error),
  });
  process.exit(1);
}
