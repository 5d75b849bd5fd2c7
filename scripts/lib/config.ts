import { resolve } from 'node:path';
import { z } from 'zod';

const port = (fallback: number) => z.coerce.number().int().min(0).max(65_535).default(fallback);
const usdc = (fallback: string) =>
  z
    .string()
    .regex(/^\d+(\.\d{1,6})?$/, 'a decimal USDC amount with at most 6 decimals, e.g. 0.10')
    .default(fallback);
const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'a 0x-prefixed 20-byte hex address');
const privateKey = z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'a 0x-prefixed 32-byte hex private key');

/**
 * Everything `npm start` reads from the environment. Local mode (NETWORK=devnet, the default) needs
 * nothing; NETWORK=base-sepolia points the same services at a real chain and facilitator.
 */
export const StartConfig = z
  .object({
    DATA_DIR: z.string().min(1).optional(),
    HOST: z.string().default('127.0.0.1'),
    NETWORK: z.enum(['devnet', 'base-sepolia']).default('devnet'),
    DEVNET_PORT: port(8545),
    EXPLORER_PORT: port(4000),
    FACILITATOR_PORT: port(4022),
    GATEWAY_PORT: port(4021),
    AGENT_PORT: port(8080),
    WS_PORT: port(3001),
    AGENT_MODEL: z.enum(['offline-planner', 'bedrock', 'openai']).default('offline-planner'),
    IMAGE_GENERATOR: z.enum(['local', 'bedrock']).default('local'),
    IMAGE_ANALYZER: z.enum(['local', 'bedrock']).default('local'),
    AWS_REGION: z.string().default('us-east-1'),
    BEDROCK_MODEL_ID: z.string().optional(),
    CONSENT_MODE: z.enum(['auto', 'confirm']).default('auto'),
    /** How the agent pays: exact (one settlement per image) or batch-settlement (payment sessions). */
    PAYMENT_SCHEME: z.enum(['exact', 'batch-settlement']).default('exact'),
    MAX_PAYMENT_USDC: usdc('0.10'),
    SESSION_BUDGET_USDC: usdc('1.00'),
    // Only for NETWORK=base-sepolia: the real chain, facilitator, seller and payer.
    RPC_URL: z.url().optional(),
    FACILITATOR_URL: z.url().optional(),
    FACILITATOR_KIND: z.enum(['ours', 'x402.org', 'cdp']).optional(),
    SELLER_ADDRESS: address.optional(),
    AGENT_PRIVATE_KEY: privateKey.optional(),
    SETTLER_PRIVATE_KEY: privateKey.optional(),
  })
  .superRefine((c, ctx) => {
    if (c.NETWORK !== 'base-sepolia') return;
    for (const key of ['RPC_URL', 'SELLER_ADDRESS', 'AGENT_PRIVATE_KEY'] as const) {
      if (!c[key])
        ctx.addIssue({ code: 'custom', path: [key], message: 'required when NETWORK=base-sepolia' });
    }
    if (!c.FACILITATOR_URL && !c.SETTLER_PRIVATE_KEY) {
      ctx.addIssue({
        code: 'custom',
        path: ['FACILITATOR_URL'],
        message: 'set FACILITATOR_URL (e.g. https://x402.org/facilitator) or SETTLER_PRIVATE_KEY to run ours',
      });
    }
  });
export type StartConfig = z.infer<typeof StartConfig> & { DATA_DIR: string };

/** Parses the environment once; every wrong variable is named in the error. */
export function loadStartConfig(env: NodeJS.ProcessEnv, repoRoot: string): StartConfig {
  const parsed = StartConfig.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(env)'}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  return { ...parsed.data, DATA_DIR: resolve(repoRoot, parsed.data.DATA_DIR ?? '.data') };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}
