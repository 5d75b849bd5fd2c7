import { App, type AppProps, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { AgentStack } from './agent-stack.ts';
import { type AppConfig, DEFAULT_REGION, parseAppConfig, readContext } from './config.ts';
import { FacilitatorStack } from './facilitator-stack.ts';
import { FrontendStack } from './frontend-stack.ts';
import { CDK_DIR, ENTRIES, type Entries } from './paths.ts';
import { PaymentsGatewayStack } from './payments-gateway-stack.ts';
import { RealtimeStack } from './realtime-stack.ts';

export interface BuildAppOptions {
  readonly appProps?: AppProps;
  /** Override entry paths (tests); defaults to the packages' real entrypoints. */
  readonly entries?: Partial<Entries>;
  /** Account/region; defaults to the CLI's CDK_DEFAULT_* and, offline, us-east-1 with no account. */
  readonly env?: { account?: string | undefined; region?: string | undefined };
  /** Run cdk-nag AwsSolutions during synth (default true). */
  readonly nag?: boolean;
}

export interface AgenticPaymentsApp {
  readonly app: App;
  readonly config: AppConfig;
  readonly facilitator?: FacilitatorStack;
  readonly gateway: PaymentsGatewayStack;
  readonly agent: AgentStack;
  readonly realtime: RealtimeStack;
  readonly frontend: FrontendStack;
}

/** The facilitator Lambda entry that loads its settler key from Secrets Manager first. */
export const FACILITATOR_SHIM_ENTRY = `${CDK_DIR}/lambda/facilitator-handler.ts`;
/** The gateway Lambda entry that loads the CDP API key from Secrets Manager first (facilitatorKind cdp). */
export const GATEWAY_CDP_SHIM_ENTRY = `${CDK_DIR}/lambda/gateway-cdp-handler.ts`;
/** The gateway Lambda entry that loads our facilitator's bearer token first (ownFacilitator). */
export const GATEWAY_TOKEN_SHIM_ENTRY = `${CDK_DIR}/lambda/gateway-token-handler.ts`;
/** The claim job's entry that loads our facilitator's bearer token first (ownFacilitator). */
export const CLAIM_SHIM_ENTRY = `${CDK_DIR}/lambda/claim-handler.ts`;

/**
 * Builds the whole app: gateway → agent → realtime → frontend (plus our facilitator if asked),
 * each a stack, wired by cross-stack references, with cdk-nag AwsSolutions registered.
 *
 * @example
 * const { app } = buildAgenticPaymentsApp();
 * app.synth();
 */
export function buildAgenticPaymentsApp(options: BuildAppOptions = {}): AgenticPaymentsApp {
  const app = new App(options.appProps);
  const config = parseAppConfig(readContext((key) => app.node.tryGetContext(key)));
  const entries: Entries = { ...ENTRIES, ...options.entries };
  const env = {
    account: options.env?.account ?? process.env.CDK_DEFAULT_ACCOUNT,
    region: options.env?.region ?? process.env.CDK_DEFAULT_REGION ?? DEFAULT_REGION,
  };
  const prefix = config.stackPrefix;

  const facilitator = config.ownFacilitator
    ? new FacilitatorStack(app, `${prefix}-Facilitator`, {
        env,
        config,
        entry: options.entries?.facilitator ? entries.facilitator : FACILITATOR_SHIM_ENTRY,
        description: 'x402 facilitator of our own (opt-in)',
      })
    : undefined;
  const gateway = new PaymentsGatewayStack(app, `${prefix}-PaymentsGateway`, {
    env,
    config,
    entry: entries.gateway,
    cdpEntry: GATEWAY_CDP_SHIM_ENTRY,
    facilitatorUrl: facilitator?.facilitatorUrl,
    facilitatorToken: facilitator?.authorizerToken,
    // Tests that stub the gateway with a tiny handler stub its shims too.
    tokenEntry: options.entries?.gateway ? entries.gateway : GATEWAY_TOKEN_SHIM_ENTRY,
    claimEntry: options.entries?.claim ? entries.claim : CLAIM_SHIM_ENTRY,
    description: 'x402 payments gateway: HTTP API, gateway Lambda, payment table',
  });
  const agent = new AgentStack(app, `${prefix}-Agent`, {
    env,
    config,
    bundler: entries.agentBundler,
    gatewayUrl: gateway.gatewayUrl,
    sellerAddress: config.sellerAddress ?? gateway.sellerAddress,
    description: 'AgentCore runtime, memory and CDP credentials secret',
  });
  const realtime = new RealtimeStack(app, `${prefix}-Realtime`, {
    env,
    config,
    entries: {
      connect: entries.connect,
      disconnect: entries.disconnect,
      default: entries.default,
      worker: entries.worker,
    },
    agentRuntimeArn: agent.runtime.agentRuntimeArn,
    description: 'WebSocket chat API, connections table, images bucket',
  });
  const frontend = new FrontendStack(app, `${prefix}-Frontend`, {
    env,
    config,
    frontendDir: entries.frontendDir,
    webSocketUrl: realtime.webSocketUrl,
    gatewayUrl: gateway.gatewayUrl,
    agentRuntimeArn: agent.runtime.agentRuntimeArn,
    description: 'Chat page on S3 + CloudFront (built and deployed by cdk deploy) and the URLs it needs',
  });

  Tags.of(app).add('project', 'agentic-payments');
  if (options.nag ?? true) {
    // Acknowledged findings are also written into each template (cdk_nag metadata) as an audit trail.
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { writeSuppressionsToCloudFormation: true }));
  }
  return { app, config, facilitator, gateway, agent, realtime, frontend };
}
