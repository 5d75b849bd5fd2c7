import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * TEST FAKE of the agent's POST /invocations (not the real agent): answers the AgentCore contract
 * with a canned reply, optionally after a delay, and records every invocation it received.
 */
export interface FakeAgentInvocation {
  body: unknown;
  headers: IncomingMessage['headers'];
}

/** A 1x1 transparent PNG. */
export const TINY_PNG_BASE64 =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';

export function agentReply(overrides: Record<string, unknown> = {}) {
  return {
    output: {
      message: { role: 'assistant', content: [{ text: 'Here is your image.' }] },
      timestamp: '2026-11-25T05:00:00.000Z',
      model: 'offline-planner (test fake)',
      session_id: 'test-session',
      images: { 'img-1': `data:image/png;base64,${TINY_PNG_BASE64}` },
      payments: [
        {
          transaction_hash: `0x${'ab'.repeat(32)}`,
          amount: '0.04',
          atomic_amount: '40000',
          network: 'base-sepolia',
          explorer_url: `http://127.0.0.1:4000/tx/0x${'ab'.repeat(32)}`,
          image_id: 'img-1',
          request_id: 'req-1',
        },
      ],
      wallet: {
        address: `0x${'11'.repeat(20)}`,
        network: 'base-sepolia',
        chain_id: 84532,
        eth: '1',
        usdc: '9.96',
      },
      ...overrides,
    },
  };
}

export async function startFakeAgent(
  options: { delayMs?: number; status?: number; reply?: (body: unknown) => unknown; raw?: string } = {},
) {
  const invocations: FakeAgentInvocation[] = [];
  let completed = 0;
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const body: unknown = JSON.parse(text || 'null');
    invocations.push({ body, headers: req.headers });
    if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
    completed += 1;
    res.writeHead(options.status ?? 200, { 'content-type': 'application/json' });
    res.end(options.raw ?? JSON.stringify(options.reply ? options.reply(body) : agentReply()));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    invocations,
    completed: () => completed,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
    },
  };
}
