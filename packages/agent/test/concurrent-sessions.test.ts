import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { FileSessionMemory, type RunningAgent } from '../src/index.ts';
import { type Stack, say, startStack, startTestAgent } from './stack.ts';

describe('concurrent sessions (devnet, real gateway)', () => {
  let stack: Stack;
  let agent: RunningAgent;
  let address: `0x${string}`;

  beforeAll(async () => {
    stack = await startStack(inject('devnet'));
    ({ agent, address } = await startTestAgent(stack));
  });
  afterAll(async () => {
    await agent?.stop();
    await stack?.stop();
  });

  it('20 sessions buying at once each get only their own image, receipt and state', async () => {
    const sessions = Array.from({ length: 20 }, (_, i) => `user-${i}`);
    const before = await stack.devnet.usdcBalance(address);

    const replies = await Promise.all(
      sessions.map((s, i) => say(agent.url, s, `Generate an image of lighthouse number ${i}`)),
    );

    const imageIds = new Set<string>();
    const txs = new Set<string>();
    for (const [i, reply] of replies.entries()) {
      expect(reply.status).toBe(200);
      expect(reply.body.output.session_id).toBe(sessions[i]);
      expect(reply.text).toContain(`Your image of lighthouse number ${i} has been generated`);
      const [receipt] = reply.body.output.payments;
      expect(reply.body.output.payments).toHaveLength(1);
      expect(Object.keys(reply.body.output.images)).toStrictEqual([receipt?.image_id]);
      imageIds.add(receipt?.image_id ?? '');
      txs.add(receipt?.transaction_hash ?? '');
    }
    expect(imageIds.size).toBe(20);
    expect(txs.size).toBe(20);
    expect(await stack.devnet.usdcBalance(address)).toBe(before - 20n * 40_000n);

    // Each session's durable state holds exactly its own image and payment.
    const memory = new FileSessionMemory(join(agent.config.dataDir, 'agent'));
    for (const [i, session] of sessions.entries()) {
      const record = await memory.load(session);
      const own = replies[i]?.body.output.payments[0];
      expect(Object.keys(record?.images ?? {})).toStrictEqual([own?.image_id]);
      expect(record?.payments.map((p) => p.transaction_hash)).toStrictEqual([own?.transaction_hash]);
      expect(record?.spent).toBe('40000');
    }

    // And analysis in a session only ever sees that session's image.
    const analyses = await Promise.all(
      sessions.slice(0, 5).map((s) => say(agent.url, s, 'Analyze my image for monetization')),
    );
    for (const [i, reply] of analyses.entries()) {
      expect(reply.text).toContain(`analysis of image ${replies[i]?.body.output.payments[0]?.image_id}`);
    }
  }, 90_000);

  it('serialises turns of one session: two concurrent purchases both land, none is lost', async () => {
    const [a, b] = await Promise.all([
      say(agent.url, 'same-session', 'Generate an image of a red kite'),
      say(agent.url, 'same-session', 'Generate an image of a blue kite'),
    ]);
    expect(a?.body.output.payments).toHaveLength(1);
    expect(b?.body.output.payments).toHaveLength(1);
    const record = await new FileSessionMemory(join(agent.config.dataDir, 'agent')).load('same-session');
    expect(record?.payments).toHaveLength(2);
    expect(Object.keys(record?.images ?? {})).toHaveLength(2);
    expect(record?.spent).toBe('80000');
    expect(record?.turn).toBe(2);
  });

  it("a session without images cannot analyze another session's image", async () => {
    const reply = await say(agent.url, 'newcomer', 'Analyze the image for monetization');
    expect(reply.text).toBe('No image has been generated in this session yet.');
  });
});
