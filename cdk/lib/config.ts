import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { z } from 'zod';

/** Networks the cloud deployment can pay on. The local devnet never runs in the cloud. */
export const CLOUD_NETWORKS = {
  'base-sepolia': {
    chainId: 84532,
    explorerUrl: 'https://sepolia.basescan.org',
    rpcUrl: 'https://sepolia.base.org',
  },
  base: { chainId: 8453, explorerUrl: 'https://basescan.org', rpcUrl: 'https://mainnet.base.org' },
} as const;

export type CloudNetwork = keyof typeof CLOUD_NETWORKS;

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
// Nova Canvas, Claude and the agent image live in us-east-1 in the seed; it is the offline default.
export const DEFAULT_REGION = 'us-east-1';

// Finite periods only: "never expire" is not an option for logs that hold request metadata.
const RETENTION_DAYS = Object.values(RetentionDays).filter(
  (d): d is number => typeof d === 'number' && d !== RetentionDays.INFINITE,
);

/** CDK context values arrive as strings from `-c key=value` and as JSON values from cdk.json. */
const flag = z.union([z.boolean(), z.stringbool()]);
const decimalUsdc = z.string().regex(/^\d+(\.\d{1,6})?$/, 'a decimal USDC amount such as 0.10');

/**
 * Every context key the app reads, with its default. `cdk synth` works with none of them set:
 * the seller address is then read from SSM Parameter Store at deploy time, never at synth.
 */
export const AppConfigSchema = z
  .object({
    stackPrefix: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9-]{0,39}$/)
      .default('AgenticPayments'),
    network: z.enum(['base-sepolia', 'base']).default('base-sepolia'),
    facilitatorUrl: z.url().default('https://x402.org/facilitator'),
    facilitatorKind: z.enum(['x402.org', 'cdp', 'ours']).default('x402.org'),
    /** Deploy our own facilitator (packages/facilitator) behind its own HTTP API and use it. */
    ownFacilitator: flag.default(false),
    facilitatorRpcUrl: z.url().optional(),
    /**
     * With `ownFacilitator`: minutes between runs of the batch-settlement claim job (claim + settle
     * of the payment channels). At most 10, well inside the channels' 15-minute withdraw delay.
     */
    claimIntervalMinutes: z.coerce.number().int().min(1).max(10).default(5),
    /**
     * With `ownFacilitator`: the claim job refunds the unspent deposit of channels idle this long
     * (cooperative refund), so a payer who never ends the session is not left to withdraw on chain.
     */
    channelRefundIdleHours: z.coerce.number().int().min(1).max(720).default(24),
    /** The seller's payTo address. When absent, the SSM parameter below is resolved at deploy. */
    sellerAddress: z.string().regex(ADDRESS, 'a 0x-prefixed 20-byte hex address').optional(),
    sellerAddressParameter: z
      .string()
      .regex(/^\/[A-Za-z0-9_.\-/]+$/)
      .default('/agentic-payments/seller-address'),
    /**
     * Claude Sonnet 4.5 through the US cross-region inference profile, as in the seed. The agent role
     * may invoke it through this profile in whichever Regions the profile routes to (agent-stack.ts).
     */
    agentModelId: z.string().min(1).default('us.anthropic.claude-sonnet-4-5-20250929-v1:0'),
    /**
     * A prebuilt ARM64 agent image in ECR (the CodeBuild path), `<account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag>`.
     * Without it, packages/agent/Dockerfile is a Docker image asset built by `cdk deploy`.
     */
    agentImageUri: z
      .string()
      .regex(
        /^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?\/[a-z0-9._\-/]+(:[\w.-]+)?$/,
        'an ECR image URI with a tag',
      )
      .optional(),
    /**
     * How the agent pays (its PAYMENT_SCHEME): `exact`, one EIP-3009 transfer per image (the seed's
     * flow), or `batch-settlement`, a payment session (one deposit, a voucher per image, the rest
     * refunded). `batch-settlement` needs `ownFacilitator`: only our facilitator signs the channel
     * claims the gateway's claim job sends, so without it the gateway offers exact only.
     */
    paymentScheme: z.enum(['exact', 'batch-settlement']).default('exact'),
    consentMode: z.enum(['auto', 'confirm']).default('auto'),
    maxPaymentUsdc: decimalUsdc.default('0.10'),
    sessionBudgetUsdc: decimalUsdc.default('1.00'),
    imageExpiryDays: z.coerce.number().int().min(1).max(365).default(7),
    logRetentionDays: z.coerce
      .number()
      .refine(
        (days) => RETENTION_DAYS.includes(days),
        `one of CloudWatch's retention periods: ${RETENTION_DAYS.join(', ')}`,
      )
      .default(30),
    /**
     * Create the account-level API Gateway CloudWatch role (AWS::ApiGateway::Account) that
     * WebSocket access logging needs. Turn off when the account already has one configured.
     */
    apiGatewayAccountRole: flag.default(true),
    webSocketRateLimit: z.coerce.number().int().min(1).default(10),
    webSocketBurstLimit: z.coerce.number().int().min(1).default(20),
  })
  .strict()
  .refine((config) => config.paymentScheme === 'exact' || config.ownFacilitator, {
    path: ['paymentScheme'],
    message:
      'batch-settlement needs -c ownFacilitator=true (the gateway offers it only with our facilitator)',
  });

export type AppConfig = z.infer<typeof AppConfigSchema>;

/** Keys of AppConfig, i.e. the CDK context keys this app understands. */
export const CONFIG_KEYS = Object.keys(AppConfigSchema.shape) as (keyof AppConfig)[];

/**
 * Parses context into AppConfig, naming every wrong key at once.
 *
 * @example
 * const config = parseAppConfig({ network: 'base-sepolia', ownFacilitator: 'true' });
 */
export function parseAppConfig(context: Record<string, unknown>): AppConfig {
  const parsed = AppConfigSchema.safeParse(context);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `  - ${issue.path.join('.') || '(context)'}: ${issue.message}`,
    );
    throw new Error(`Invalid CDK context for the agentic-payments app:\n${problems.join('\n')}`);
  }
  return parsed.data;
}

/** Reads this app's keys from a construct node's context (cdk.json, `-c`, or App({ context })). */
export function readContext(tryGetContext: (key: string) => unknown): Record<string, unknown> {
  const context: Record<string, unknown> = {};
  for (const key of CONFIG_KEYS) {
    const value = tryGetContext(key);
    if (value !== undefined) context[key] = value;
  }
  return context;
}
