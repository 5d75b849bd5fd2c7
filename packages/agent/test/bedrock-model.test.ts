import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalImageAnalyzer } from '@agentic-payments/imaging';
import { EventStreamCodec } from '@smithy/core/event-streams';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentWallet, type RunningAgent, startAgent } from '../src/index.ts';

const MODEL_ID = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const codec = new EventStreamCodec(
  (bytes) => Buffer.from(bytes).toString('utf8'),
  (text) => new Uint8Array(Buffer.from(text, 'utf8')),
);

/** One ConverseStream event in the AWS event-stream binary framing, as Bedrock sends it. */
function frame(eventType: string, payload: unknown): Uint8Array {
  return codec.encode({
    headers: {
      ':event-type': { type: 'string', value: eventType },
      ':content-type': { type: 'string', value: 'application/json' },
      ':message-type': { type: 'string', value: 'event' },
    },
    body: new Uint8Array(Buffer.from(JSON.stringify(payload), 'utf8')),
  });
}

type ConverseRequest = {
  system?: { text?: string }[];
  toolConfig?: { tools: { toolSpec: { name: string } }[] };
  messages: { role: string; content: Record<string, unknown>[] }[];
};

/**
 * TEST ONLY: a local stand-in for the Bedrock ConverseStream endpoint that speaks its real wire
 * format and plays Claude's part for "what are my wallet details?": first a tool call, then prose.
 */
function converseStreamReply(request: ConverseRequest): Uint8Array[] {
  const last = request.messages.at(-1);
  const toolResult = last?.content.find((block) => 'toolResult' in block)?.toolResult as
    | { content: { json?: Record<string, unknown> }[] }
    | undefined;
  const events: Uint8Array[] = [frame('messageStart', { role: 'assistant' })];
  if (!toolResult) {
    events.push(
      frame('contentBlockStart', {
        contentBlockIndex: 0,
        start: { toolUse: { toolUseId: 'tooluse_1', name: 'check_wallet_balance' } },
      }),
      frame('contentBlockDelta', { contentBlockIndex: 0, delta: { toolUse: { input: '{}' } } }),
      frame('contentBlockStop', { contentBlockIndex: 0 }),
      frame('messageStop', { stopReason: 'tool_use' }),
    );
  } else {
    const wallet = toolResult.content[0]?.json ?? {};
    const text = `Your wallet ${String(wallet.address)} on ${String(wallet.network)} holds ${String(wallet.usdc)} USDC.`;
    events.push(
      frame('contentBlockDelta', { contentBlockIndex: 0, delta: { text: text.slice(0, 10) } }),
      frame('contentBlockDelta', { contentBlockIndex: 0, delta: { text: text.slice(10) } }),
      frame('contentBlockStop', { contentBlockIndex: 0 }),
      frame('messageStop', { stopReason: 'end_turn' }),
    );
  }
  events.push(
    frame('metadata', {
      usage: { inputTokens: 100, outputTokens: 20, totalTokens: 120 },
      metrics: { latencyMs: 5 },
    }),
  );
  return events;
}

/** TEST ONLY: fixed balances, never signs (this test pays nothing). */
const testWallet: AgentWallet = {
  provider: 'test-wallet',
  address: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
  signTypedData: () => Promise.reject(new Error('test wallet does not sign')),
  balances: async () => ({ eth: 0n, usdc: 1_000_000n }),
};

describe('BedrockModel (Claude) path against a local ConverseStream endpoint', () => {
  let server: Server;
  let agent: RunningAgent;
  let dataDir: string;
  const requests: { path: string; body: ConverseRequest; auth: string }[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ConverseRequest;
        requests.push({ path: req.url ?? '', body, auth: String(req.headers.authorization ?? '') });
        res.writeHead(200, {
          'content-type': 'application/vnd.amazon.eventstream',
          'x-amzn-requestid': 'test',
        });
        for (const event of converseStreamReply(body)) res.write(event);
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    dataDir = await mkdtemp(join(tmpdir(), 'agent-bedrock-'));
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    agent = await startAgent({
      env: { AGENT_MODEL: 'bedrock', BEDROCK_MODEL_ID: MODEL_ID, AWS_REGION: 'us-west-2', DATA_DIR: dataDir },
      port: 0,
      host: '127.0.0.1',
      agentWallet: testWallet,
      analyzer: new LocalImageAnalyzer(),
      log: () => {},
      bedrockClientConfig: {
        endpoint,
        credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' },
        requestHandler: new NodeHttpHandler(),
      },
    });
  });
  afterAll(async () => {
    await agent?.stop();
    await new Promise((resolve) => server?.close(resolve));
    await rm(dataDir, { recursive: true, force: true });
  });

  it("runs a tool-using turn over ConverseStream and replies with Claude's text", async () => {
    const response = await fetch(`${agent.url}/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        input: { prompt: 'What are my wallet details?' },
        session_id: 'bedrock-session',
      }),
    });
    const { output } = (await response.json()) as {
      output: { model: string; message: { content: { text: string }[] } };
    };
    expect(response.status).toBe(200);
    expect(output.model).toBe(MODEL_ID);
    expect(output.message.content[0]?.text).toBe(
      `Your wallet ${testWallet.address} on Local devnet — Base Sepolia stand-in (chain 84532) holds 1 USDC.`,
    );

    // Two model calls: the question, then the question plus the tool result.
    expect(requests.map((r) => r.path)).toStrictEqual([
      `/model/${encodeURIComponent(MODEL_ID)}/converse-stream`,
      `/model/${encodeURIComponent(MODEL_ID)}/converse-stream`,
    ]);
    const [first, second] = requests;
    expect(first?.auth).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDTEST\/\d{8}\/us-west-2\/bedrock\/aws4_request/,
    );
    expect(first?.body.system?.[0]?.text).toContain(
      'estimate_image_cost -> generate_image (AUTHORIZE_CHECK) -> make_payment -> generate_image',
    );
    expect(first?.body.toolConfig?.tools.map((t) => t.toolSpec.name).sort()).toStrictEqual([
      'analyze_content_monetization',
      'check_wallet_balance',
      'end_session',
      'estimate_image_cost',
      'generate_image',
      'make_payment',
    ]);
    const toolResult = second?.body.messages.at(-1)?.content[0]?.toolResult as {
      toolUseId: string;
      content: { json: Record<string, unknown> }[];
    };
    expect(toolResult.toolUseId).toBe('tooluse_1');
    expect(toolResult.content[0]?.json).toMatchObject({
      status: 'ok',
      address: testWallet.address,
      chain_id: 84532,
      usdc: '1',
    });
  });
});
