import { decodePng } from '@agentic-payments/imaging';
import { parseUsdc } from '@agentic-payments/x402';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type RunningAgent, startAgent } from '../src/index.ts';
import { type Stack, say, startStack, startTestAgent } from './stack.ts';

// The seed's example conversation, end to end on the devnet: offline planner → real gateway →
// real facilitator → USDC moves on chain.
describe('the seed example conversation (offline planner, devnet, real gateway and facilitator)', () => {
  let stack: Stack;
  let agent: RunningAgent;
  let agentAddress: `0x${string}`;
  const session = 'test-session';

  beforeAll(async () => {
    stack = await startStack(inject('devnet'));
    ({ agent, address: agentAddress } = await startTestAgent(stack));
  });
  afterAll(async () => {
    await agent?.stop();
    await stack?.stop();
  });

  it('answers the capabilities question of the seed curl example', async () => {
    const reply = await say(
      agent.url,
      session,
      'What are your main capabilities and what tasks are you designed for?',
    );
    expect(reply.status).toBe(200);
    expect(reply.body.output.message.role).toBe('assistant');
    expect(reply.text).toContain('Image Generation');
    expect(reply.text).toContain('Wallet Management');
    expect(reply.text).toContain('Image Analysis');
    expect(reply.body.output.model).toBe('offline-planner');
    expect(reply.body.output.session_id).toBe(session);
    expect(reply.body.output.images).toStrictEqual({});
    expect(reply.body.output.payments).toStrictEqual([]);
  });

  it('reports the wallet details from the chain', async () => {
    const reply = await say(agent.url, session, 'What are my wallet details?');
    expect(reply.text).toContain(`Wallet Address: ${agentAddress}`);
    expect(reply.text).toContain('Chain ID: 84532');
    expect(reply.text).toContain('- USDC: 10');
    expect(reply.body.output.wallet).toMatchObject({
      address: agentAddress,
      usdc: '10',
      chain_id: 84532,
      network: 'base-sepolia',
      network_name: 'Local devnet — Base Sepolia stand-in (chain 84532)',
    });
    expect(reply.body.output.session).toStrictEqual({
      payments: [],
      payment_count: 0,
      spent: '0',
      spent_atomic: '0',
      budget: '1',
      budget_atomic: '1000000',
      payment_scheme: 'exact',
    });
  });

  it('estimates, authorizes, pays over x402 and returns the image', async () => {
    const agentBefore = await stack.devnet.usdcBalance(agentAddress);
    const sellerBefore = await stack.devnet.usdcBalance(stack.sellerAddress);

    const reply = await say(agent.url, session, 'Generate an image of a futuristic city at sunset');

    expect(reply.status).toBe(200);
    expect(reply.text).toContain('Success! Your image of a futuristic city at sunset has been generated');
    const { payments, images } = reply.body.output;
    expect(payments).toHaveLength(1);
    const receipt = payments[0];
    if (!receipt) throw new Error('no receipt');
    expect(receipt.amount).toBe('0.04');
    expect(receipt.atomic_amount).toBe('40000');
    expect(receipt.explorer_url).toBe(`${stack.explorerUrl}/tx/${receipt.transaction_hash}`);
    expect(receipt.network).toBe('base-sepolia');
    expect(receipt.network_name).toBe('Local devnet — Base Sepolia stand-in (chain 84532)');
    expect(reply.text).toContain(receipt.transaction_hash);

    // The image is returned as a PNG data URL under its id.
    const dataUrl = images[receipt.image_id ?? ''];
    expect(dataUrl).toMatch(/^data:image\/png;base64,/);
    const png = decodePng(Buffer.from((dataUrl ?? '').split(',')[1] ?? '', 'base64'));
    expect(png.width).toBe(1024);

    // The transfer is on chain, and exactly the estimate moved from the agent to the seller.
    const chainReceipt = await stack.devnet.publicClient.getTransactionReceipt({
      hash: receipt.transaction_hash as `0x${string}`,
    });
    expect(chainReceipt.status).toBe('success');
    expect(await stack.devnet.usdcBalance(agentAddress)).toBe(agentBefore - parseUsdc('0.04'));
    expect(await stack.devnet.usdcBalance(stack.sellerAddress)).toBe(sellerBefore + parseUsdc('0.04'));
    expect(reply.body.output.wallet?.usdc).toBe('9.96');
  });

  it('analyzes the image it generated for monetization', async () => {
    const reply = await say(agent.url, session, 'Analyze that image for content monetization');
    expect(reply.text).toContain('content monetization analysis of image');
    expect(reply.text).toContain('analyzer: local');
    expect(reply.body.output.payments).toStrictEqual([]);
    // The turn paid nothing, yet the session's receipts and spend are there.
    const { session: spend } = reply.body.output;
    expect(spend.payments).toHaveLength(1);
    expect(spend.payments[0]?.amount).toBe('0.04');
    expect([spend.payment_count, spend.spent, spend.spent_atomic, spend.budget]).toStrictEqual([
      1,
      '0.04',
      '40000',
      '1',
    ]);
  });

  it('keeps conversation, images and payments across an agent restart', async () => {
    const config = agent.config;
    await agent.stop();
    agent = await startAgent({ ...config, port: 0, log: () => {} });
    const reply = await say(agent.url, session, 'Analyze the image for monetization');
    expect(reply.text).toContain('content monetization analysis of image');
    const before = await stack.devnet.usdcBalance(agentAddress);
    // The restarted agent keeps paying from the same durable session.
    const second = await say(agent.url, session, 'Generate an image of a lighthouse in a storm');
    expect(second.body.output.payments).toHaveLength(1);
    expect(second.body.output.session.payments.map((p) => p.transaction_hash)).toStrictEqual([
      reply.body.output.session.payments[0]?.transaction_hash,
      second.body.output.payments[0]?.transaction_hash,
    ]);
    expect(second.body.output.session.spent).toBe('0.08');
    expect(await stack.devnet.usdcBalance(agentAddress)).toBe(before - parseUsdc('0.04'));
  });
});
