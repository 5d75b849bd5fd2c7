import type * as iam from 'aws-cdk-lib/aws-iam';
import type { AgenticPaymentsApp } from '../../lib/app.ts';
import type { NodeLambda } from '../../lib/node-lambda.ts';
import {
  type Drive,
  driveAgentCdpSecret,
  driveAgentRuntime,
  driveClaimJob,
  driveClaimJobSecret,
  driveConnect,
  driveDefaultRoute,
  driveDisconnect,
  driveFacilitatorSecret,
  driveGatewayCdpSecret,
  driveGatewayChannels,
  driveGatewayImages,
  driveGatewayTokenSecret,
  driveImageAnalyzer,
  driveNovaCanvas,
  drivePaymentStore,
  driveTurnWorker,
  driveWalletBudget,
} from './drives.ts';

/**
 * One adapter (or handler) and the role that runs it in the CDK app. The drive runs the adapter's
 * real code against the local engines (dynalite, s3rver) or wire-format stand-ins, and every AWS
 * call it makes is recorded; the role's synthesized policy must allow each of them and grant
 * nothing that no entry needed. `role` answers undefined when the app variant has no such role
 * (the facilitator exists only with `ownFacilitator`).
 */
export interface ContractEntry {
  readonly adapter: string;
  readonly role: (app: AgenticPaymentsApp) => iam.IRole | undefined;
  readonly drive: Drive;
}

const lambdaRole = (stack: 'realtime' | 'facilitator', id: string) => (app: AgenticPaymentsApp) =>
  (app[stack]?.node.tryFindChild(id) as NodeLambda | undefined)?.role;
const gateway = (app: AgenticPaymentsApp) => app.gateway.gateway.role;
const agentRuntime = (app: AgenticPaymentsApp) => app.agent.runtime.role;

/**
 * The contract: add a line when an adapter, handler or Lambda starts making AWS calls (and a drive
 * in drives.ts that runs it). See cdk/README.md, "IAM contract".
 */
export const IAM_CONTRACT: readonly ContractEntry[] = [
  { adapter: 'gateway/dynamodb-payment-store', role: gateway, drive: drivePaymentStore },
  { adapter: 'gateway/s3-image-store', role: gateway, drive: driveGatewayImages },
  { adapter: 'imaging/nova-canvas-generator (gateway)', role: gateway, drive: driveNovaCanvas },
  {
    adapter: 'cdk/lambda/gateway-cdp-handler (facilitatorKind cdp)',
    role: (app) => (app.gateway.cdpSecret ? gateway(app) : undefined),
    drive: driveGatewayCdpSecret,
  },
  { adapter: 'gateway/channel-storage (batch-settlement)', role: gateway, drive: driveGatewayChannels },
  {
    adapter: 'cdk/lambda/gateway-token-handler (ownFacilitator)',
    role: (app) => (app.gateway.claims ? gateway(app) : undefined),
    drive: driveGatewayTokenSecret,
  },
  {
    adapter: 'gateway/claim-lambda pass (channel manager over the payment table)',
    role: (app) => app.gateway.claims?.role,
    drive: driveClaimJob,
  },
  {
    adapter: 'cdk/lambda/claim-handler (facilitator token)',
    role: (app) => app.gateway.claims?.role,
    drive: driveClaimJobSecret,
  },
  { adapter: 'realtime $connect handler', role: lambdaRole('realtime', 'Connect'), drive: driveConnect },
  {
    adapter: 'realtime $disconnect handler',
    role: lambdaRole('realtime', 'Disconnect'),
    drive: driveDisconnect,
  },
  {
    adapter: 'realtime $default handler (accepts a turn)',
    role: lambdaRole('realtime', 'DefaultRoute'),
    drive: driveDefaultRoute,
  },
  {
    adapter: 'realtime turn worker (runs a turn)',
    role: lambdaRole('realtime', 'TurnWorker'),
    drive: driveTurnWorker,
  },
  {
    adapter: 'agent runtime turn (Bedrock model, AgentCore memory)',
    role: agentRuntime,
    drive: driveAgentRuntime,
  },
  { adapter: 'imaging/claude-vision-analyzer (agent)', role: agentRuntime, drive: driveImageAnalyzer },
  { adapter: 'agent CDP credentials secret', role: agentRuntime, drive: driveAgentCdpSecret },
  { adapter: 'agent/dynamodb-wallet-budget-store', role: agentRuntime, drive: driveWalletBudget },
  {
    adapter: 'cdk/lambda/facilitator-handler (ownFacilitator)',
    role: lambdaRole('facilitator', 'Facilitator'),
    drive: driveFacilitatorSecret,
  },
];

/**
 * Roles that run aws-cdk-lib's own code, not ours: their grants are the construct's, sized by the
 * library (cdk-nag acknowledgements name each wildcard). Each with the reason; the contract skips them.
 */
export const LIBRARY_ROLES: readonly {
  readonly role: (app: AgenticPaymentsApp) => iam.IRole | undefined;
  readonly reason: string;
}[] = [
  {
    role: (app) => app.frontend.node.tryFindChild('ChatDeploymentRole') as iam.IRole | undefined,
    reason:
      "BucketDeployment's handler (aws-cdk-lib): copies the chat build from the CDK assets bucket to the site bucket and invalidates the distribution",
  },
];

/**
 * Grants that are not an adapter's calls: what Lambda and AgentCore themselves do with a role
 * (logs, traces, image pull, metrics, workload identity). Exact action names, each with its reason;
 * a statement must be all platform actions or all adapter actions.
 */
export const PLATFORM_ACTIONS: Readonly<Record<string, string>> = {
  'logs:CreateLogStream': 'Lambda / AgentCore write their own logs',
  'logs:PutLogEvents': 'Lambda / AgentCore write their own logs',
  'logs:CreateLogGroup': 'AgentCore creates the runtime log group',
  'logs:DescribeLogStreams': 'AgentCore runtime logging',
  'logs:DescribeLogGroups': 'AgentCore runtime logging',
  'xray:PutTraceSegments': 'active tracing',
  'xray:PutTelemetryRecords': 'active tracing',
  'xray:GetSamplingRules': 'AgentCore tracing',
  'xray:GetSamplingTargets': 'AgentCore tracing',
  'ecr:GetAuthorizationToken': 'AgentCore pulls the agent image',
  'ecr:BatchCheckLayerAvailability': 'AgentCore pulls the agent image',
  'ecr:BatchGetImage': 'AgentCore pulls the agent image',
  'ecr:GetDownloadUrlForLayer': 'AgentCore pulls the agent image',
  'cloudwatch:PutMetricData': 'AgentCore runtime metrics (bedrock-agentcore namespace)',
  'bedrock-agentcore:GetWorkloadAccessToken': 'AgentCore runtime workload identity',
  'bedrock-agentcore:GetWorkloadAccessTokenForJWT': 'AgentCore runtime workload identity',
  'bedrock-agentcore:GetWorkloadAccessTokenForUserId': 'AgentCore runtime workload identity',
};
