import { decodePng } from '@agentic-payments/imaging';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { RunningAgent } from '../src/index.ts';
import { type Stack, say, startStack, startTestAgent } from './stack.ts';

// The gateway as it runs on Lambda: its 200 carries image_url and no bytes (a 2048x2048 Nova
// Canvas PNG would not fit Lambda's 6 MB response). The agent fetches the image by its URL.
describe('a purchase from a gateway that delivers images by URL only (as on Lambda)', () => {
  let stack: Stack;
  let agent: RunningAgent;

  beforeAll(async () => {
    stack = await startStack(inject('devnet'), { imageDelivery: 'url' });
    ({ agent } = await startTestAgent(stack));
  });
  afterAll(async () => {
    await agent?.stop();
    await stack?.stop();
  });

  it('fetches the bought image from its URL and keeps it with the purchase', async () => {
    const reply = await say(agent.url, 'by-url', 'Generate an image of a lighthouse in a storm');
    expect(reply.status).toBe(200);
    const receipt = reply.body.output.payments[0];
    if (!receipt) throw new Error('no receipt');
    const image = reply.body.output.images[receipt.image_id ?? ''];
    expect(image).toMatch(/^data:image\/png;base64,/);
    expect(decodePng(Buffer.from((image ?? '').split(',')[1] ?? '', 'base64')).width).toBe(1024);

    const analysis = await say(agent.url, 'by-url', 'Analyze that image for content monetization');
    expect(analysis.text).toContain('content monetization analysis of image');
  });
});
