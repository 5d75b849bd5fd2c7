import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BedrockAgentCoreClient } from '@aws-sdk/client-bedrock-agentcore';
import { afterEach, describe, expect, it } from 'vitest';
import { agentReply, startFakeAgent } from '../../test/fake-agent.ts';
import { runtimeSessionIdFor } from '../runtime-session-id.ts';
import { createAgentCoreInvoker } from './agentcore-agent-invoker.ts';
import { createHttpAgentInvoker } from './http-agent-invoker.ts';

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(stops.splice(0).map((stop) => stop()));
});

async function fake(options: Parameters<typeof startFakeAgent>[0] = {}) {
  const agent = await startFakeAgent(options);
  stops.push(agent.stop);
  return agent;
}

const signal = () => AbortSignal.timeout(5_000);

describe('createHttpAgentInvoker', () => {
  it('POSTs the seed body to /invocations with the runtime session header', async () => {
    const agent = await fake();
    const output = await createHttpAgentInvoker({ agentUrl: agent.url }).invoke({
      prompt: 'What are my wallet details?',
      sessionId: 'test-session',
      signal: signal(),
    });
    expect(output).toStrictEqual(agentReply().output);
    expect(agent.invocations).toHaveLength(1);
    expect(agent.invocations[0]?.body).toStrictEqual({
      input: { prompt: 'What are my wallet details?' },
      session_id: 'test-session',
    });
    expect(agent.invocations[0]?.headers['x-amzn-bedrock-agentcore-runtime-session-id']).toBe(
      runtimeSessionIdFor('test-session'),
    );
  });

  it('turns a 400 into agent_error with the agent message', async () => {
    const agent = await fake({
      status: 400,
      raw: JSON.stringify({ error: 'invalid_request', message: 'prompt is required' }),
    });
    await expect(
      createHttpAgentInvoker({ agentUrl: agent.url }).invoke({
        prompt: 'x',
        sessionId: 's',
        signal: signal(),
      }),
    ).rejects.toMatchObject({
      code: 'agent_error',
      message: 'The agent refused the request: prompt is required',
    });
  });

  it('turns a reply that is not the contract into agent_invalid_response', async () => {
    const agent = await fake({ raw: '<html>oops</html>' });
    await expect(
      createHttpAgentInvoker({ agentUrl: agent.url }).invoke({
        prompt: 'x',
        sessionId: 's',
        signal: signal(),
      }),
    ).rejects.toMatchObject({ code: 'agent_invalid_response' });
  });

  it('turns a refused connection into agent_unavailable', async () => {
    const agent = await startFakeAgent();
    await agent.stop();
    await expect(
      createHttpAgentInvoker({ agentUrl: agent.url }).invoke({
        prompt: 'x',
        sessionId: 's',
        signal: signal(),
      }),
    ).rejects.toMatchObject({ code: 'agent_unavailable' });
  });

  it('turns a timeout into agent_timeout and says a payment may still complete', async () => {
    const agent = await fake({ delayMs: 500 });
    await expect(
      createHttpAgentInvoker({ agentUrl: agent.url }).invoke({
        prompt: 'x',
        sessionId: 's',
        signal: AbortSignal.timeout(50),
      }),
    ).rejects.toMatchObject({ code: 'agent_timeout', message: expect.stringContaining('check your wallet') });
  });
});

describe('createAgentCoreInvoker', () => {
  it('calls InvokeAgentRuntime with the ARN, a 33+ character runtime session id and the seed payload', async () => {
    const seen: { method?: string; url?: string; headers?: Record<string, unknown>; body?: string }[] = [];
    const server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      seen.push({
        method: req.method,
        url: req.url,
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(agentReply()));
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
    stops.push(async () => {
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
    });
    const client = new BedrockAgentCoreClient({
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'test-only' },
    });
    const arn = 'arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/agent-abc';
    const output = await createAgentCoreInvoker({
      client,
      agentRuntimeArn: arn,
      qualifier: 'DEFAULT',
    }).invoke({
      prompt: 'What can you help me with?',
      sessionId: 'test-session',
      signal: signal(),
    });
    expect(output).toStrictEqual(agentReply().output);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.method).toBe('POST');
    expect(seen[0]?.url).toBe(`/runtimes/${encodeURIComponent(arn)}/invocations?qualifier=DEFAULT`);
    expect(seen[0]?.headers?.['x-amzn-bedrock-agentcore-runtime-session-id']).toBe(
      runtimeSessionIdFor('test-session'),
    );
    expect(JSON.parse(seen[0]?.body ?? '')).toStrictEqual({
      input: { prompt: 'What can you help me with?' },
      session_id: 'test-session',
    });
    client.destroy();
  });
});
