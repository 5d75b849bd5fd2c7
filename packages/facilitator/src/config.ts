import { AppError, assertKeyAllowed, DEVNET_MNEMONIC, isLoopbackRpcUrl } from '@agentic-payments/x402';
import type { Hex } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import { z } from 'zod';
import { FACILITATOR_NETWORKS, type FacilitatorNetwork, NETWORK_INFO } from './networks.ts';

/** Devnet account index of the facilitator settler (docs/CONVENTIONS.md). */
const DEVNET_SETTLER_INDEX = 2;
/** Devnet account index of the facilitator's batch-settlement receiver authorizer (signs, holds nothing). */
export const DEVNET_RECEIVER_AUTHORIZER_INDEX = 4;

const privateKey = z
  .string()
  .trim()
  .regex(/^0x[0-9a-fA-F]{64}$/, 'expected a 32-byte hex private key')
  .transform((key) => key as Hex);

export const FacilitatorEnv = z.object({
  FACILITATOR_RPC_URL: z.url().default('http://127.0.0.1:8545'),
  FACILITATOR_NETWORK: z.enum(FACILITATOR_NETWORKS).default('devnet'),
  /** One key, or several separated by commas (settlements go round-robin across them). */
  FACILITATOR_PRIVATE_KEY: z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined || value.trim() === '') return undefined;
      const keys: Hex[] = [];
      for (const part of value.split(',')) {
        const parsed = privateKey.safeParse(part);
        if (!parsed.success) {
          ctx.addIssue({ code: 'custom', message: 'expected 32-byte hex private key(s), comma-separated' });
          return z.NEVER;
        }
        keys.push(parsed.data);
      }
      return keys;
    }),
  FACILITATOR_PORT: z.coerce.number().int().min(0).max(65_535).default(4022),
  FACILITATOR_HOST: z.string().default('127.0.0.1'),
  FACILITATOR_RECEIPT_TIMEOUT_MS: z.coerce.number().int().positive().max(600_000).default(15_000),
  FACILITATOR_POLLING_INTERVAL_MS: z.coerce.number().int().positive().max(60_000).optional(),
  /** Fixed gas limit for settlements; `estimate` asks the node each time. Devnet default: fixed. */
  FACILITATOR_GAS_LIMIT: z
    .union([z.literal('estimate'), z.coerce.number().int().min(21_000).max(30_000_000)])
    .optional(),
  /** Serve the batch-settlement scheme beside exact (v2). */
  FACILITATOR_BATCH_SETTLEMENT: z.enum(['on', 'off']).default('on'),
  /**
   * Key of the batch-settlement receiver authorizer this facilitator offers (`/supported`
   * `extra.receiverAuthorizer`); `none` offers none. Devnet default: devnet account 4.
   */
  FACILITATOR_RECEIVER_AUTHORIZER_KEY: z
    .string()
    .trim()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined || value === '') return undefined;
      if (value === 'none') return null;
      const parsed = privateKey.safeParse(value);
      if (!parsed.success) {
        ctx.addIssue({ code: 'custom', message: 'expected a 32-byte hex private key or none' });
        return z.NEVER;
      }
      return parsed.data;
    }),
  /** Bearer tokens (comma-separated, 16+ characters each) allowed to ask for the authorizer's signatures. */
  FACILITATOR_AUTHORIZER_TOKENS: z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined || value.trim() === '') return undefined;
      const tokens = value.split(',').map((token) => token.trim());
      if (tokens.some((token) => !/^[\x21-\x7e]{16,256}$/.test(token))) {
        ctx.addIssue({
          code: 'custom',
          message: 'expected tokens of 16-256 printable characters, comma-separated',
        });
        return z.NEVER;
      }
      return tokens;
    }),
});

export interface BatchSettlementConfig {
  /** The receiver authorizer's key, or undefined when this facilitator offers none. */
  receiverAuthorizerKey: Hex | undefined;
  /** Tokens for delegated signatures; undefined: open (devnet only). */
  authorizerTokens: string[] | undefined;
}

export interface FacilitatorConfig {
  rpcUrl: string;
  network: FacilitatorNetwork;
  privateKeys: Hex[];
  port: number;
  host: string;
  receiptTimeoutMs: number;
  pollingIntervalMs: number;
  gasLimit: bigint | undefined;
  /** Undefined when batch-settlement is turned off. */
  batchSettlement: BatchSettlementConfig | undefined;
}

export class ConfigError extends AppError<'invalid_config'> {
  override name = 'ConfigError';
  constructor(message: string) {
    super('invalid_config', message, { httpStatus: 500 });
  }
}

/** Parses the environment once, reporting every wrong variable by name. */
export function loadFacilitatorConfig(
  env: Record<string, string | undefined> = process.env,
): FacilitatorConfig {
  const parsed = FacilitatorEnv.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid facilitator configuration: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  const info = NETWORK_INFO[e.FACILITATOR_NETWORK];
  const privateKeys = e.FACILITATOR_PRIVATE_KEY ?? defaultKeys(e.FACILITATOR_NETWORK);
  assertSettlerKeysAllowed({ network: e.FACILITATOR_NETWORK, rpcUrl: e.FACILITATOR_RPC_URL, privateKeys });
  let batchSettlement: BatchSettlementConfig | undefined;
  if (e.FACILITATOR_BATCH_SETTLEMENT === 'on') {
    batchSettlement = resolveBatchSettlementConfig({
      network: e.FACILITATOR_NETWORK,
      rpcUrl: e.FACILITATOR_RPC_URL,
      receiverAuthorizerKey: e.FACILITATOR_RECEIVER_AUTHORIZER_KEY,
      authorizerTokens: e.FACILITATOR_AUTHORIZER_TOKENS,
    });
  }
  return {
    rpcUrl: e.FACILITATOR_RPC_URL,
    network: e.FACILITATOR_NETWORK,
    privateKeys,
    port: e.FACILITATOR_PORT,
    host: e.FACILITATOR_HOST,
    receiptTimeoutMs: e.FACILITATOR_RECEIPT_TIMEOUT_MS,
    pollingIntervalMs: e.FACILITATOR_POLLING_INTERVAL_MS ?? info.defaultPollingIntervalMs,
    gasLimit: resolveGasLimit(e.FACILITATOR_NETWORK, e.FACILITATOR_GAS_LIMIT),
    batchSettlement,
  };
}

/**
 * The batch-settlement receiver authorizer: the given key, none (`null`), or on the devnet the
 * devnet authorizer. A facilitator that signs claims and refunds for servers must authenticate
 * those requests (the spec), so off the devnet an authorizer key needs tokens; devnet keys are
 * refused off a loopback RPC like settler keys.
 */
export function resolveBatchSettlementConfig(params: {
  network: FacilitatorNetwork;
  rpcUrl: string;
  receiverAuthorizerKey: Hex | null | undefined;
  authorizerTokens: string[] | undefined;
}): BatchSettlementConfig {
  const info = NETWORK_INFO[params.network];
  const receiverAuthorizerKey =
    params.receiverAuthorizerKey === null
      ? undefined
      : (params.receiverAuthorizerKey ??
        (info.localOnly ? devnetPrivateKey(DEVNET_RECEIVER_AUTHORIZER_INDEX) : undefined));
  if (receiverAuthorizerKey !== undefined && !isLoopbackRpcUrl(params.rpcUrl)) {
    try {
      assertKeyAllowed({ privateKey: receiverAuthorizerKey, rpcUrl: params.rpcUrl });
    } catch (error) {
      throw new ConfigError(
        `FACILITATOR_RECEIVER_AUTHORIZER_KEY: ${error instanceof Error ? error.message : 'refused'}`,
      );
    }
  }
  if (receiverAuthorizerKey !== undefined && params.authorizerTokens === undefined && !info.localOnly) {
    throw new ConfigError(
      'FACILITATOR_AUTHORIZER_TOKENS: required with FACILITATOR_RECEIVER_AUTHORIZER_KEY on a public network',
    );
  }
  return { receiverAuthorizerKey, authorizerTokens: params.authorizerTokens };
}

/** Devnet: fixed 200k (saves `eth_estimateGas`; a transferWithAuthorization uses ~60-90k). Else estimate. */
export function resolveGasLimit(
  network: FacilitatorNetwork,
  setting: 'estimate' | number | undefined,
): bigint | undefined {
  if (setting === 'estimate') return undefined;
  if (setting !== undefined) return BigInt(setting);
  return network === 'devnet' ? 200_000n : undefined;
}

function defaultKeys(network: FacilitatorNetwork): Hex[] {
  if (network !== 'devnet') {
    throw new ConfigError('FACILITATOR_PRIVATE_KEY: required on a public network');
  }
  return [devnetPrivateKey(DEVNET_SETTLER_INDEX)];
}

function devnetPrivateKey(index: number): Hex {
  const key = mnemonicToAccount(DEVNET_MNEMONIC, { addressIndex: index }).getHdKey().privateKey;
  if (!key) throw new Error('could not derive a devnet key');
  return `0x${Buffer.from(key).toString('hex')}`;
}

/**
 * The devnet runs only against a loopback RPC, and anvil's public keys never touch another chain.
 */
export function assertSettlerKeysAllowed(params: {
  network: FacilitatorNetwork;
  rpcUrl: string;
  privateKeys: readonly Hex[];
}): void {
  const info = NETWORK_INFO[params.network];
  if (info.localOnly && !isLoopbackRpcUrl(params.rpcUrl)) {
    throw new ConfigError(`FACILITATOR_RPC_URL: the ${params.network} network needs a loopback RPC`);
  }
  // A loopback RPC may use any key; skip the (slow, PBKDF2) derivation of the devnet key list.
  if (isLoopbackRpcUrl(params.rpcUrl)) return;
  for (const privateKey of params.privateKeys) {
    try {
      assertKeyAllowed({ privateKey, rpcUrl: params.rpcUrl });
    } catch (error) {
      throw new ConfigError(`FACILITATOR_PRIVATE_KEY: ${error instanceof Error ? error.message : 'refused'}`);
    }
  }
}
