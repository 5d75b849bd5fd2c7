import { existsSync, readFileSync } from 'node:fs';
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import * as amplify from 'aws-cdk-lib/aws-amplify';
import type { Construct } from 'constructs';
import { type AppConfig, CLOUD_NETWORKS } from './config.ts';

export interface FrontendStackProps extends StackProps {
  readonly config: AppConfig;
  /** frontend/amplify.yml; used as the app's build spec when a repository is connected later. */
  readonly buildSpecPath: string;
  readonly webSocketUrl: string;
  readonly gatewayUrl: string;
  readonly agentRuntimeArn: string;
}

export const AMPLIFY_BRANCH = 'main';

/**
 * Amplify Hosting for the chat page. The app is created without a repository (no Git token in the
 * template): the README deploys the built `frontend/dist` to the branch with `aws amplify
 * create-deployment`; connecting a repository later uses frontend/amplify.yml and VITE_WS_URL.
 */
export class FrontendStack extends Stack {
  readonly app: amplify.CfnApp;
  readonly branch: amplify.CfnBranch;
  readonly chatUrl: string;

  constructor(scope: Construct, id: string, props: FrontendStackProps) {
    super(scope, id, props);
    const network = CLOUD_NETWORKS[props.config.network];
    const environmentVariables = [
      { name: 'VITE_WS_URL', value: props.webSocketUrl },
      { name: 'VITE_EXPLORER_URL', value: network.explorerUrl },
      // frontend/amplify.yml is a monorepo build spec (applications[].appRoot: frontend).
      { name: 'AMPLIFY_MONOREPO_APP_ROOT', value: 'frontend' },
    ];

    this.app = new amplify.CfnApp(this, 'ChatApp', {
      name: `${props.config.stackPrefix}-chat`,
      description: 'Agentic payments chat (React + Vite)',
      platform: 'WEB',
      buildSpec: existsSync(props.buildSpecPath) ? readFileSync(props.buildSpecPath, 'utf8') : undefined,
      environmentVariables,
      customRules: [
        // Single-page app: every path without a file extension serves index.html.
        {
          source:
            '</^[^.]+$|\\.(?!(css|gif|ico|jpg|jpeg|js|json|png|svg|txt|webp|woff|woff2|ttf|map)$)([^.]+$)/>',
          target: '/index.html',
          status: '200',
        },
      ],
    });
    this.branch = new amplify.CfnBranch(this, 'MainBranch', {
      appId: this.app.attrAppId,
      branchName: AMPLIFY_BRANCH,
      stage: 'PRODUCTION',
      enableAutoBuild: false,
      environmentVariables,
    });

    this.chatUrl = `https://${AMPLIFY_BRANCH}.${this.app.attrDefaultDomain}`;
    new CfnOutput(this, 'AmplifyAppId', { value: this.app.attrAppId });
    new CfnOutput(this, 'ChatUrl', {
      value: this.chatUrl,
      description: 'Open this after deploying frontend/dist',
    });
    new CfnOutput(this, 'WebSocketUrl', { value: props.webSocketUrl });
    new CfnOutput(this, 'GatewayUrl', { value: props.gatewayUrl });
    new CfnOutput(this, 'AgentRuntimeArn', { value: props.agentRuntimeArn });
  }
}
