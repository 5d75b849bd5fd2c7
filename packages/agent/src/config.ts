import {
  AppError,
  assertKeyAllowed,
  isAppError,
  isLoopbackRpcUrl,
  NETWORKS,
  type NetworkInfo,
  parseUsdc,
} from '@agentic-payments/x402';
import { isAddress, isHex } from 'viem';
import { z } from 'zod';

/** Anvil's well-known account #1 (the agent payer on the devnet) and #3 (the seller); devnet only. */
export const DEVNET_AGENT_KEY = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d';
export const DEVNET_SELLER_ADDRESS = '0x90F79bf6EB2c4f870365E785982E1f101E93b906';

const usdc = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value, ctx) => {
      try {
        const atomic = parseUsdc(value);
        if (atomic <= 0n) throw new Error('must be positive');
        return atomic;
      } catch {
        ctx.addIssue({
          code: 'custom',
          message: `must be a positive USDC amount like "0.10", got ${JSON.stringify(value)}`,
        });
        return z.NEVER;
      }
    });

const emptyToUndefined = (value: unknown) => (value === '' ? undefined : value);
const optionalString = z.preprocess(emptyToUndefined, z.string().optional());

/**
 * The agent's CDP account is looked up by this name and created only the first time
 * (`getOrCreateAccount`), so every container start of a deployment signs with the same address.
 */
export const DEFAULT_CDP_ACCOUNT_NAME = 'x402-image-agent';
/** CDP's rule for account names: 2-36 letters, digits and hyphens, starting and ending alphanumeric. */
export const CDP_ACCOUNT_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9-]{0,34}[A-Za-z0-9]$/;
export const CDP_ACCOUNT_NAME_RULE =
  'must be 2-36 letters, digits and hyphens, starting and ending with a letter or digit';

/**
 * How the agent pays: `exact` (the seed's flow, one EIP-3009 transfer settled on chain per image) or
 * `batch-settlement` (x402 payment channels: the session budget deposited once, a voucher per image,
 * the unspent rest refunded when the session ends).
 */
export const PAYMENT_SCHEMES = ['exact', 'batch-settlement'] as const;
export type PaymentScheme = (typeof PAYMENT_SCHEMES)[number];

/**
 * AgentCore stops a runtime session after 15 minutes without a request (its default
 * `idleRuntimeSessionTimeout`, 900 s); an idle refund must run before that, in the same microVM.
 */
export const MAX_SESSION_IDLE_REFUND_SECONDS = 24 * 60 * 60;

const EnvSchema = z.object({
  AGENT_PORT: z.preprocess(emptyToUndefined, z.coerce.number().int().min(0).max(65535).default(8080)),
  AGENT_HOST: z.preprocess(emptyToUndefined, z.string().default('0.0.0.0')),
  GATEWAY_URL: z.preprocess(emptyToUndefined, z.url().default('http://127.0.0.1:4021')),
  NETWORK: z.preprocess(emptyToUndefined, z.enum(['base-sepolia', 'base', 'devnet']).default('devnet')),
  RPC_URL: z.preprocess(emptyToUndefined, z.url().default('http://127.0.0.1:8545')),
  SELLER_ADDRESS: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .refine((v) => isAddress(v, { strict: false }), 'must be a 0x-prefixed 20-byte address')
      .optional(),
  ),
  AGENT_PRIVATE_KEY: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .refine((v) => isHex(v) && v.length === 66, 'must be a 0x-prefixed 32-byte hex private key')
      .optional(),
  ),
  CDP_API_KEY_ID: optionalString,
  CDP_API_KEY_SECRET: optionalString,
  CDP_WALLET_SECRET: optionalString,
  CDP_SECRET_ARN: optionalString,
  CDP_ACCOUNT_NAME: z.preprocess(
    emptyToUndefined,
    z.string().regex(CDP_ACCOUNT_NAME_PATTERN, CDP_ACCOUNT_NAME_RULE).default(DEFAULT_CDP_ACCOUNT_NAME),
  ),
  CDP_API_URL: z.preprocess(emptyToUndefined, z.url().optional()),
  AGENT_MODEL: z.preprocess(
    emptyToUndefined,
    z.enum(['offline-planner', 'bedrock', 'openai']).default('offline-planner'),
  ),
  BEDROCK_MODEL_ID: z.preprocess(
    emptyToUndefined,
    z.string().default('us.anthropic.claude-sonnet-4-5-20250929-v1:0'),
  ),
  AWS_REGION: z.preprocess(emptyToUndefined, z.string().default('us-east-1')),
  OPENAI_BASE_URL: z.preprocess(emptyToUndefined, z.url().optional()),
  OPENAI_MODEL_ID: optionalString,
  OPENAI_API_KEY: optionalString,
  MEMORY_ID: optionalString,
  DATA_DIR: z.preprocess(emptyToUndefined, z.string().default('.data')),
  EXPLORER_URL: z.preprocess(emptyToUndefined, z.url().optional()),
  MAX_PAYMENT_USDC: usdc('0.10'),
  SESSION_BUDGET_USDC: usdc('1.00'),
  WALLET_BUDGET_24H_USDC: usdc('5.00'),
  WALLET_BUDGET_TABLE: optionalString,
  CONSENT_MODE: z.preprocess(emptyToUndefined, z.enum(['auto', 'confirm']).default('auto')),
  PAYMENT_SCHEME: z.preprocess(emptyToUndefined, z.enum(PAYMENT_SCHEMES).default('exact')),
  SESSION_IDLE_REFUND_SECONDS: z.preprocess(
    emptyToUndefined,
    z.coerce.number().int().min(1).max(MAX_SESSION_IDLE_REFUND_SECONDS).default(600),
  ),
  IMAGE_ANALYZER: z.preprocess(emptyToUndefined, z.enum(['local', 'bedrock']).default('local')),
  IMAGE_ANALYZER_MODEL_ID: optionalString,
});

/** Where the CDP SDK sends its requests and which account it uses (one per deployment). */
export interface CdpAccountConfig {
  /** Stable account name: found on every start, created once. */
  accountName: string;
  /** CDP API base URL; unset means the SDK's default (https://api.cdp.coinbase.com/platform). */
  apiUrl?: string;
}

export type WalletConfig =
  | { kind: 'private-key'; privateKey: `0x${string}` }
  | ({ kind: 'cdp'; apiKeyId: string; apiKeySecret: string; walletSecret: string } & CdpAccountConfig)
  | ({ kind: 'cdp-secret'; secretArn: string } & CdpAccountConfig);

/** Parsed agent configuration; everything the runtime needs, with money as bigint atomic USDC. */
export interface AgentConfig {
  port: number;
  host: string;
  gatewayUrl: string;
  network: NetworkInfo;
  rpcUrl: string;
  sellerAddress: `0x${string}`;
  wallet: WalletConfig;
  model:
    | { kind: 'offline-planner' }
    | { kind: 'bedrock'; modelId: string; region: string }
    | { kind: 'openai'; baseUrl: string; modelId: string; apiKey: string };
  memory: { kind: 'file'; dataDir: string } | { kind: 'agentcore'; memoryId: string; region: string };
  dataDir: string;
  explorerUrl: string;
  maxPayment: bigint;
  sessionBudget: bigint;
  /** WALLET_BUDGET_24H_USDC: the rolling 24-hour cap over every session of the wallet. */
  walletBudget24h: bigint;
  /** WALLET_BUDGET_TABLE (DynamoDB, the cloud), else a file under `dataDir` (local). */
  walletBudgetStore: { kind: 'file' } | { kind: 'dynamodb'; tableName: string; region: string };
  consentMode: 'auto' | 'confirm';
  /** PAYMENT_SCHEME: `exact` (default) or `batch-settlement` (opt-in payment sessions). */
  paymentScheme: PaymentScheme;
  /** SESSION_IDLE_REFUND_SECONDS, in ms: a batch-settlement session idle this long is closed and refunded. */
  sessionIdleRefundMs: number;
  imageAnalyzer: 'local' | 'bedrock';
  /** The Claude model the `bedrock` analyzer calls: IMAGE_ANALYZER_MODEL_ID, else BEDROCK_MODEL_ID. */
  analyzerModelId: string;
  region: string;
}

/** Every wrong variable, by name, in one error (`invalid_config`). */
export function configError(problems: string[]): AppError {
  return new AppError(
    'invalid_config',
    `invalid agent configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    {
      httpStatus: 500,
      details: { problems },
    },
  );
}

/**
 * Parses the agent's environment once, reporting every wrong variable by name.
 *
 * @example
 * const config = loadConfig(process.env);
 */
export function loadConfig(env: Record<string, string | undefined>): AgentConfig {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    throw configError(
      parsed.error.issues.map((issue) => `${issue.path.join('.') || '(env)'}: ${issue.message}`),
    );
  }
  const e = parsed.data;
  const problems: string[] = [];
  const loopbackRpc = isLoopbackRpcUrl(e.RPC_URL);

  let wallet: WalletConfig | undefined;
  const cdpAccount: CdpAccountConfig = {
    accountName: e.CDP_ACCOUNT_NAME,
    ...(e.CDP_API_URL ? { apiUrl: e.CDP_API_URL.replace(/\/$/, '') } : {}),
  };
  if (e.AGENT_PRIVATE_KEY) {
    wallet = { kind: 'private-key', privateKey: e.AGENT_PRIVATE_KEY as `0x${string}` };
  } else if (e.CDP_API_KEY_ID || e.CDP_API_KEY_SECRET || e.CDP_WALLET_SECRET) {
    for (const name of ['CDP_API_KEY_ID', 'CDP_API_KEY_SECRET', 'CDP_WALLET_SECRET'] as const) {
      if (!e[name]) problems.push(`${name}: required when any CDP credential is set`);
    }
    wallet = {
      kind: 'cdp',
      apiKeyId: e.CDP_API_KEY_ID ?? '',
      apiKeySecret: e.CDP_API_KEY_SECRET ?? '',
      walletSecret: e.CDP_WALLET_SECRET ?? '',
      ...cdpAccount,
    };
  } else if (e.CDP_SECRET_ARN) {
    wallet = { kind: 'cdp-secret', secretArn: e.CDP_SECRET_ARN, ...cdpAccount };
  } else if (loopbackRpc) {
    wallet = { kind: 'private-key', privateKey: DEVNET_AGENT_KEY };
  } else {
    problems.push(
      'AGENT_PRIVATE_KEY: a wallet is required off the devnet (set CDP_SECRET_ARN or CDP_API_KEY_ID/CDP_API_KEY_SECRET/CDP_WALLET_SECRET)',
    );
  }

  let sellerAddress = e.SELLER_ADDRESS as `0x${string}` | undefined;
  if (!sellerAddress) {
    if (loopbackRpc) sellerAddress = DEVNET_SELLER_ADDRESS;
    else problems.push('SELLER_ADDRESS: required off the devnet');
  }

  let model: AgentConfig['model'] = { kind: 'offline-planner' };
  if (e.AGENT_MODEL === 'bedrock')
    model = { kind: 'bedrock', modelId: e.BEDROCK_MODEL_ID, region: e.AWS_REGION };
  if (e.AGENT_MODEL === 'openai') {
    if (!e.OPENAI_BASE_URL) problems.push('OPENAI_BASE_URL: required when AGENT_MODEL=openai');
    if (!e.OPENAI_MODEL_ID) problems.push('OPENAI_MODEL_ID: required when AGENT_MODEL=openai');
    model = {
      kind: 'openai',
      baseUrl: e.OPENAI_BASE_URL ?? '',
      modelId: e.OPENAI_MODEL_ID ?? '',
      apiKey: e.OPENAI_API_KEY ?? 'not-needed',
    };
  }
  if (e.MAX_PAYMENT_USDC > e.SESSION_BUDGET_USDC) {
    problems.push('MAX_PAYMENT_USDC: must not exceed SESSION_BUDGET_USDC');
  }
  if (e.MAX_PAYMENT_USDC > e.WALLET_BUDGET_24H_USDC) {
    problems.push('MAX_PAYMENT_USDC: must not exceed WALLET_BUDGET_24H_USDC');
  }
  if (wallet?.kind === 'private-key') {
    try {
      assertKeyAllowed({ privateKey: wallet.privateKey, rpcUrl: e.RPC_URL });
    } catch (error) {
      if (!isAppError(error)) throw error;
      problems.push(`AGENT_PRIVATE_KEY: ${error.message}`);
    }
  }
  if (problems.length > 0) throw configError(problems);

  const network = NETWORKS[e.NETWORK];
  return {
    port: e.AGENT_PORT,
    host: e.AGENT_HOST,
    gatewayUrl: e.GATEWAY_URL.replace(/\/$/, ''),
    network,
    rpcUrl: e.RPC_URL,
    sellerAddress: sellerAddress as `0x${string}`,
    wallet: wallet as WalletConfig,
    model,
    memory: e.MEMORY_ID
      ? { kind: 'agentcore', memoryId: e.MEMORY_ID, region: e.AWS_REGION }
      : { kind: 'file', dataDir: e.DATA_DIR },
    dataDir: e.DATA_DIR,
    explorerUrl: (e.EXPLORER_URL ?? network.explorerUrl).replace(/\/$/, ''),
    maxPayment: e.MAX_PAYMENT_USDC,
    sessionBudget: e.SESSION_BUDGET_USDC,
    walletBudget24h: e.WALLET_BUDGET_24H_USDC,
    walletBudgetStore: e.WALLET_BUDGET_TABLE
      ? { kind: 'dynamodb', tableName: e.WALLET_BUDGET_TABLE, region: e.AWS_REGION }
      : { kind: 'file' },
    consentMode: e.CONSENT_MODE,
    paymentScheme: e.PAYMENT_SCHEME,
    sessionIdleRefundMs: e.SESSION_IDLE_REFUND_SECONDS * 1000,
    imageAnalyzer: e.IMAGE_ANALYZER,
    analyzerModelId: e.IMAGE_ANALYZER_MODEL_ID ?? e.BEDROCK_MODEL_ID,
    region: e.AWS_REGION,
  };
}
