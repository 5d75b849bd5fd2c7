import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { WALLET_BUDGET_TABLE_ACTIONS } from '../../packages/agent/src/dynamodb-wallet-budget-store.ts';
import { AgentStack } from '../lib/agent-stack.ts';
import { parseAppConfig } from '../lib/config.ts';

/** The agent stack alone, from a prebuilt image URI (no build context is staged). */
function synthAgentStack(): { template: Template; stack: AgentStack } {
  const app = new App();
  const stack = new AgentStack(app, 'Agent', {
    config: parseAppConfig({ agentImageUri: '123456789012.dkr.ecr.us-east-1.amazonaws.com/agent:latest' }),
    bundler: '',
    gatewayUrl: 'https://abc123defg.execute-api.us-east-1.amazonaws.com',
    sellerAddress: '0x90F79bf6EB2c4f870365E785982E1f101E93b906',
    env: { region: 'us-east-1' },
  });
  return { template: Template.fromStack(stack), stack };
}

describe('agent stack: the wallet budget table', () => {
  const { template, stack } = synthAgentStack();
  const tableId = stack.getLogicalId(stack.walletBudgetTable.node.defaultChild as never);

  it('is an on-demand, encrypted table with point-in-time recovery, keyed by pk, kept on stack deletion', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      Properties: {
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
      },
    });
  });

  it('gives the runtime its name in WALLET_BUDGET_TABLE', () => {
    template.hasResourceProperties('AWS::BedrockAgentCore::Runtime', {
      EnvironmentVariables: Match.objectLike({ WALLET_BUDGET_TABLE: { Ref: tableId } }),
    });
  });

  it('grants the runtime role exactly the operations the DynamoDB adapter sends, on this table only', () => {
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
      (policy) =>
        policy.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[],
    );
    const onTable = statements.filter((s) => JSON.stringify(s.Resource).includes(tableId));
    expect(onTable).toHaveLength(1);
    expect([onTable[0]?.Action].flat().sort()).toStrictEqual([...WALLET_BUDGET_TABLE_ACTIONS].sort());
    expect(onTable[0]?.Resource).toStrictEqual([{ 'Fn::GetAtt': [tableId, 'Arn'] }]);
    const dynamoActions = statements
      .flatMap((s) => [s.Action].flat())
      .filter((a) => a.startsWith('dynamodb:'));
    expect(dynamoActions.sort()).toStrictEqual([...WALLET_BUDGET_TABLE_ACTIONS].sort());
  });
});
