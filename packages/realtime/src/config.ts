import { z } from 'zod';
import { MAX_FRAME_BYTES } from './messages.ts';

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const optionalUrl = z.url({ protocol: /^https?$/ }).optional();

/** Env of the $connect / $disconnect Lambdas: only the connections table. */
export const ConnectionsEnv = z.object({
  AWS_REGION: z.string().min(1).default('us-east-1'),
  CONNECTIONS_TABLE: z.string().min(3).max(255),
  /** Local engines only (dynalite); unset in the cloud. */
  DYNAMODB_ENDPOINT: optionalUrl,
  /** API Gateway's maximum connection duration is 2 hours; keep records a little longer. */
  CONNECTION_TTL_SECONDS: positiveInt(2 * 60 * 60 + 5 * 60),
});
export type ConnectionsConfig = z.infer<typeof ConnectionsEnv>;

/**
 * How long a turn may hold its session (seconds). It must outlast the worker function's timeout,
 * so a turn that is still running is never overlapped; the CDK stack sets it from that timeout.
 */
const TurnLeaseSeconds = positiveInt(11 * 60);

/** Env of the `$default` Lambda: accepts a turn and hands it to the worker. */
export const DefaultRouteEnv = ConnectionsEnv.extend({
  /** Name or ARN of the turn worker function, invoked asynchronously. */
  TURN_WORKER_FUNCTION: z.string().min(1).max(256),
  TURN_LEASE_SECONDS: TurnLeaseSeconds,
  MAX_FRAME_BYTES: positiveInt(MAX_FRAME_BYTES),
  /** Local engines only: the Lambda Invoke endpoint (the local host's stand-in). */
  LAMBDA_ENDPOINT: optionalUrl,
  /** Management API endpoint override (the local host); in the cloud it comes from the event. */
  WEBSOCKET_CALLBACK_URL: optionalUrl,
});
export type DefaultRouteConfig = z.infer<typeof DefaultRouteEnv>;

/** Env of the turn worker Lambda: runs the agent turn and posts its frames. */
export const TurnWorkerEnv = ConnectionsEnv.extend({
  TURN_LEASE_SECONDS: TurnLeaseSeconds,
  IMAGES_BUCKET: z.string().min(3).max(63),
  S3_ENDPOINT: optionalUrl,
  S3_FORCE_PATH_STYLE: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
  IMAGE_URL_TTL_SECONDS: positiveInt(60 * 60),
  AGENT_RUNTIME_ARN: z
    .string()
    .regex(/^arn:aws[a-z-]*:bedrock-agentcore:[a-z0-9-]+:\d{12}:runtime\/.+$/, 'not an AgentCore runtime ARN')
    .optional(),
  AGENT_RUNTIME_QUALIFIER: z.string().min(1).optional(),
  AGENT_URL: optionalUrl,
  AGENT_TIMEOUT_MS: positiveInt(10 * 60 * 1000),
  PROGRESS_INTERVAL_MS: positiveInt(3000),
  /** Management API endpoint override (the local host); in the cloud it comes from the event. */
  WEBSOCKET_CALLBACK_URL: optionalUrl,
}).superRefine((env, ctx) => {
  if (!env.AGENT_RUNTIME_ARN && !env.AGENT_URL) {
    ctx.addIssue({
      code: 'custom',
      path: ['AGENT_RUNTIME_ARN'],
      message: 'set AGENT_RUNTIME_ARN (AgentCore) or AGENT_URL (HTTP /invocations)',
    });
  }
  if (env.AGENT_TIMEOUT_MS >= env.TURN_LEASE_SECONDS * 1000) {
    ctx.addIssue({
      code: 'custom',
      path: ['TURN_LEASE_SECONDS'],
      message: 'must be longer than AGENT_TIMEOUT_MS, or a second turn could start while one still runs',
    });
  }
});
export type TurnWorkerConfig = z.infer<typeof TurnWorkerEnv>;

function parseEnv<T extends z.ZodType>(schema: T, env: Record<string, string | undefined>): z.infer<T> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`);
  throw new Error(`Invalid realtime configuration:\n  ${problems.join('\n  ')}`);
}

/** Parses the connect/disconnect env once; the error names every wrong variable. */
export function loadConnectionsConfig(env: Record<string, string | undefined>): ConnectionsConfig {
  return parseEnv(ConnectionsEnv, env);
}

/**
 * Parses the `$default` route's env once; the error names every wrong variable.
 *
 * @example loadDefaultRouteConfig(process.env).TURN_WORKER_FUNCTION
 */
export function loadDefaultRouteConfig(env: Record<string, string | undefined>): DefaultRouteConfig {
  return parseEnv(DefaultRouteEnv, env);
}

/**
 * Parses the turn worker's env once; the error names every wrong variable.
 *
 * @example loadTurnWorkerConfig(process.env).IMAGES_BUCKET
 */
export function loadTurnWorkerConfig(env: Record<string, string | undefined>): TurnWorkerConfig {
  return parseEnv(TurnWorkerEnv, env);
}
