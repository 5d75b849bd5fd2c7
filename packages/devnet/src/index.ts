export { DEVNET_ACCOUNTS, type DevnetAccount, type DevnetAccounts, deriveDevnetAccount } from './accounts.ts';
export { resolveAnvilBinary } from './anvil.ts';
export { batchSettlementAbi } from './artifacts/batchSettlement.ts';
export { erc3009DepositCollectorAbi } from './artifacts/erc3009DepositCollector.ts';
export { multicall3Abi } from './artifacts/multicall3.ts';
export { usdcAbi } from './artifacts/usdc.ts';
export { devnetChain } from './chain.ts';
export {
  BATCH_SETTLEMENT_EIP712_DOMAIN,
  type BuildChannelConfigParameters,
  buildChannelConfig,
  CHANNEL_EIP712_TYPES,
  type ChannelConfig,
  devnetChannelId,
  type OpenDevnetChannelParameters,
  type OpenDevnetChannelResult,
  openDevnetChannel,
  signErc3009Deposit,
} from './channels.ts';
export {
  BATCH_SETTLEMENT_ADDRESS,
  DEVNET_CHAIN_ID,
  DEVNET_MNEMONIC,
  DEVNET_NETWORK,
  ERC3009_DEPOSIT_COLLECTOR_ADDRESS,
  FIRST_PAYER_INDEX,
  INITIAL_FUNDING,
  MULTICALL3_ADDRESS,
  USDC_ADDRESS,
  USDC_DECIMALS,
  USDC_EIP712_NAME,
  USDC_EIP712_VERSION,
} from './constants.ts';
export { assertLoopbackRpc, connectDevnet, createDevnetClient, type DevnetClient } from './devnet-client.ts';
export { DevnetError, type DevnetErrorCode } from './errors.ts';
export { createExplorerApp, type ExplorerDeps } from './explorer/create-explorer-app.ts';
export { type Explorer, type StartExplorerOptions, startExplorer } from './explorer/start-explorer.ts';
export { type Devnet, type StartDevnetOptions, startDevnet } from './start-devnet.ts';
