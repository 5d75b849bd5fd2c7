import { describe, expect, it } from 'vitest';
import { type AgentWallet, startAgent } from '../src/index.ts';

/** TEST ONLY: never signs or reads balances (no turn runs here). */
const testWallet: AgentWallet = {
  provider: 'test-wallet',
  address: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
  signTypedData: () => Promise.reject(new Error('test wallet does not sign')),
  balances: () => Promise.reject(new Error('test wallet has no balances')),
};

describe('the Bedrock image analyzer', () => {
  it('calls the Claude model the deployment configured, not a built-in one', async () => {
    const profile = 'eu.anthropic.claude-sonnet-4-5-20250929-v1:0';
    const logs: Record<string, unknown>[] = [];
    const agent = await startAgent({
      env: { IMAGE_ANALYZER: 'bedrock', BEDROCK_MODEL_ID: profile, AWS_REGION: 'eu-west-1' },
      agentWallet: testWallet,
      port: 0,
      host: '127.0.0.1',
      log: (entry) => logs.push(entry),
    });
    await agent.stop();
    expect(logs.find((e) => e.event === 'agent_started')?.analyzer).toBe(`bedrock:${profile}`);
  });
});
