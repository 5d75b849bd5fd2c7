import { describe, expect, it } from 'vitest';
import * as x402 from './index.ts';

// The runtime names other packages import (docs/CONVENTIONS.md and the team brief). Removing or
// renaming one breaks a consumer, so this list only grows.
const PUBLIC_RUNTIME_EXPORTS = [
  'AppError',
  'GenerateImageResponse',
  'NODE_MAX_HEADER_BYTES',
  'answerClientErrorsAsJson',
  'isAppError',
  'X402_ERROR_CODES',
  'X402_HEADERS',
  'NETWORKS',
  'NETWORK_IDS',
  'getNetwork',
  'toCaip2',
  'toV1Network',
  'explorerTxUrl',
  'networkDisplayName',
  'DEVNET_DISPLAY_NAME',
  'AgentOutput',
  'AgentPaymentReceipt',
  'AgentWalletSnapshot',
  'AgentSessionSpend',
  'AgentInvocationResponse',
  'CompleteFrame',
  'textWithoutReceiptUrls',
  'agentReplyText',
  'USDC_DECIMALS',
  'USDC_EIP712_DOMAIN',
  'usdcAddress',
  'parseUsdc',
  'formatUsdc',
  'formatUsdcDisplay',
  'IMAGE_SIZES',
  'IMAGE_QUALITIES',
  'priceForImage',
  'encodeHeader',
  'decodeHeader',
  'encodePaymentRequiredHeader',
  'decodePaymentRequiredHeader',
  'encodePaymentHeader',
  'decodePaymentHeader',
  'encodePaymentResponseHeader',
  'decodePaymentResponseHeader',
  'readPaymentRequired',
  'PaymentRequirementsV1',
  'PaymentRequiredV1',
  'PaymentRequirementsV2',
  'PaymentRequiredV2',
  'PaymentRequired',
  'ExactEvmAuthorization',
  'ExactEvmPayload',
  'PaymentPayloadV1',
  'PaymentPayloadV2',
  'PaymentPayload',
  'VerifyResponse',
  'SettleResponse',
  'SupportedResponse',
  'FacilitatorRequestV1',
  'FacilitatorRequestV2',
  'FacilitatorRequest',
  'TRANSFER_WITH_AUTHORIZATION_TYPES',
  'RECEIVE_WITH_AUTHORIZATION_TYPES',
  'CANCEL_AUTHORIZATION_TYPES',
  'transferWithAuthorizationTypedData',
  'authorizationFromWire',
  'authorizationToWire',
  'createAuthorizationNonce',
  'DEVNET_MNEMONIC',
  'isDevnetKey',
  'isLoopbackRpcUrl',
  'assertKeyAllowed',
] as const;

describe('package entry', () => {
  it('exports the public API', () => {
    const missing = PUBLIC_RUNTIME_EXPORTS.filter((name) => !(name in x402));
    expect(missing).toStrictEqual([]);
  });

  it('does not leak the test builders', () => {
    expect('buildRequirementsV2' in x402).toBe(false);
  });
});
