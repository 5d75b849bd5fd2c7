import { mkdtemp } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalImageAnalyzer } from '@agentic-payments/imaging';
import { serve } from '@hono/node-server';
import { type BaseModelConfig, type Message, Model, type ModelStreamEvent } from '@strands-agents/sdk';
import { describe, expect, it } from 'vitest';
import { AgentRuntime } from './agent-runtime.ts';
import { createApp, MAX_INVOCATION_BODY_BYTES, SESSION_HEADER } from './app.ts';
import { loadConfig } from './config.ts';
import { FileSessionMemory } from './file-session-memory.ts';
import type { ModelFactory } from './models.ts';
import { OfflinePlannerModel } from './offline-planner.ts';
import type { AgentWallet } from './wallet.ts';
import { createMemoryWalletBudgetStore, WalletBudget } from './wallet-budget.ts';

/** TEST ONLY: a wallet that holds fixed balances and refuses to sign (these tests never pay). */
const testWallet: AgentWallet = {
  provider: 'test-wallet',
  address: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
  signTypedData: () => Promise.reject(new Error('test wallet does not sign')),
  balances: async () => ({ eth: 10n ** 18n, usdc: 1_000_000n }),
};

/** TEST ONLY: a model whose reply waits until the test releases it, to observe HealthyBusy. */
class GatedModel extends Model<BaseModelConfig> {
  release: () => void = () => {};
  readonly gate = new Promise<void>((resolve) => {
    this.release = resolve;
  });
  updateConfig(): void {}
  getConfig(): BaseModelConfig {
    return { modelId: 'gated-test-model' };
  }
  async *stream(_messages: Message[]): AsyncIterable<ModelStreamEvent> {
    await this.gate;
    yield { type: 'modelMessageStartEvent', role: 'assistant' };
    yield { type: 'modelContentBlockStartEvent' };
    yield { type: 'modelContentBlockDeltaEvent', delta: { type: 'textDelta', text: 'released' } };
    yield { type: 'modelContentBlockStopEvent' };
    yield { type: 'modelMessageStopEvent', stopReason: 'endTurn' };
  }
}

async function buildApp(model: ModelFactory) {
  const config = loadConfig({});
  const dir = await mkdtemp(join(tmpdir(), 'agent-app-'));
  const runtime = new AgentRuntime(
    {
      config,
      policy: {
        network: config.network,
        sellerAddress: config.sellerAddress,
        maxPayment: config.maxPayment,
        sessionBudget: config.sessionBudget,
        walletBudget24h: config.walletBudget24h,
      },
      budget: new WalletBudget(createMemoryWalletBudgetStore(), {
        walletKey: 'test-wallet',
        cap: config.walletBudget24h,
      }),
      wallet: testWallet,
      analyzer: new LocalImageAnalyzer(),
      fetch: () => Promise.reject(new Error('no network in this test')),
      now: () => new Date('2026-01-01T00:00:00Z'),
      newId: () => 'id-1',
      log: () => {},
    },
    new FileSessionMemory(dir),
    model,
  );
  return createApp({ runtime, log: () => {} });
}

const planner: ModelFactory = {
  id: 'offline-planner',
  isLlm: false,
  create: () => new OfflinePlannerModel(),
};
const post = (body: string, headers: Record<string, string> = {}) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body,
});

describe('createApp', () => {
  describe('POST /invocations', () => {
    it.each([
      ['not JSON', 'hello', 'invalid_json'],
      ['no input', '{"session_id":"s"}', 'missing_prompt'],
      ['no prompt', '{"input":{},"session_id":"s"}', 'missing_prompt'],
      ['an empty prompt', '{"input":{"prompt":"  "},"session_id":"s"}', 'missing_prompt'],
      ['a non-string prompt', '{"input":{"prompt":42},"session_id":"s"}', 'missing_prompt'],
      ['no session', '{"input":{"prompt":"hi"}}', 'missing_session_id'],
      ['a bad session id', '{"input":{"prompt":"hi"},"session_id":"../../etc"}', 'invalid_session_id'],
      [
        'an 8,001-character prompt',
        JSON.stringify({ input: { prompt: 'a'.repeat(8001) }, session_id: 's' }),
        'prompt_too_long',
      ],
      [
        'an 8,001-character prompt of escaped characters',
        JSON.stringify({ input: { prompt: '\u0001'.repeat(8001) }, session_id: 's' }),
        'prompt_too_long',
      ],
    ])('answers 400 for %s', async (_name, body, code) => {
      const app = await buildApp(planner);
      const response = await app.request('/invocations', post(body));
      expect(response.status).toBe(400);
      const json = (await response.json()) as { error: string; message: string };
      expect(json.error).toBe(code);
      expect(json.message.length).toBeGreaterThan(10);
    });

    it('answers the seed curl example with the AgentCore output shape', async () => {
      const app = await buildApp(planner);
      const response = await app.request(
        '/invocations',
        post(
          '{"input": {"prompt": "What are your main capabilities and what tasks are you designed for?"}, "session_id": "test-session"}',
        ),
      );
      expect(response.status).toBe(200);
      const { output } = (await response.json()) as {
        output: Record<string, unknown> & { message: { content: { text: string }[] } };
      };
      expect(Object.keys(output).sort()).toStrictEqual([
        'images',
        'message',
        'model',
        'payments',
        'session',
        'session_id',
        'timestamp',
        'wallet',
      ]);
      expect(output.message.content[0]?.text).toMatch(/^I can help you with several image-related tasks/);
      expect(output.model).toBe('offline-planner');
      expect(output.session_id).toBe('test-session');
      expect(output.timestamp).toBe('2026-01-01T00:00:00.000Z');
      expect(output.wallet).toStrictEqual({
        address: testWallet.address,
        network: 'base-sepolia',
        network_name: 'Local devnet — Base Sepolia stand-in (chain 84532)',
        chain_id: 84532,
        eth: '1.000000',
        usdc: '1',
        budget_24h: '5',
        spent_24h: '0',
      });
    });

    it.each([
      ['a 1 MB prompt', JSON.stringify({ input: { prompt: 'a'.repeat(1_000_000) }, session_id: 's' })],
      [
        'a body just over the limit',
        `{"input":{"prompt":"hi"},"session_id":"s","pad":"${'x'.repeat(MAX_INVOCATION_BODY_BYTES)}"}`,
      ],
    ])('answers 413 payload_too_large for %s', async (_name, body) => {
      const app = await buildApp(planner);
      const response = await app.request('/invocations', post(body));
      expect(response.status).toBe(413);
      expect(await response.json()).toStrictEqual({
        error: 'payload_too_large',
        message: expect.any(String),
      });
    });

    it('accepts an 8,000-character prompt', async () => {
      const app = await buildApp(planner);
      const response = await app.request(
        '/invocations',
        post(JSON.stringify({ input: { prompt: 'a'.repeat(8000) }, session_id: 'long' })),
      );
      expect(response.status).toBe(200);
    });

    it('takes the session from the AgentCore header', async () => {
      const app = await buildApp(planner);
      const response = await app.request(
        '/invocations',
        post('{"input":{"prompt":"hello"}}', { [SESSION_HEADER]: 'from-header' }),
      );
      expect(((await response.json()) as { output: { session_id: string } }).output.session_id).toBe(
        'from-header',
      );
    });
  });

  describe('GET /ping', () => {
    it('says Healthy and that the model is the offline planner, not an LLM', async () => {
      const app = await buildApp(planner);
      const body = (await (await app.request('/ping')).json()) as Record<string, unknown>;
      expect(body.status).toBe('Healthy');
      expect(body.model).toBe('offline-planner');
      expect(body.model_is_llm).toBe(false);
      expect(String(body.model_note)).toContain('not a language model');
    });

    it('says HealthyBusy while a turn runs', async () => {
      const model = new GatedModel();
      const app = await buildApp({ id: 'gated-test-model', isLlm: true, create: () => model });
      const turn = app.request('/invocations', post('{"input":{"prompt":"hi"},"session_id":"busy"}'));
      await expect
        .poll(async () => ((await (await app.request('/ping')).json()) as { status: string }).status)
        .toBe('HealthyBusy');
      model.release();
      expect((await turn).status).toBe(200);
      expect(((await (await app.request('/ping')).json()) as { status: string }).status).toBe('Healthy');
    });
  });

  it('answers unknown routes with 404 not_found', async () => {
    const app = await buildApp(planner);
    const response = await app.request('/nope');
    expect(response.status).toBe(404);
    expect(await response.json()).toStrictEqual({ error: 'not_found', message: 'no route GET /nope' });
  });
});

/**
 * Sends `total` bytes of body (`chunked`, or with a Content-Length) as fast as the server takes
 * them, stopping as soon as an answer arrives; returns the answer and how much was sent by then.
 */
function sendLargeBody(
  url: string,
  total: number,
  chunked: boolean,
): Promise<{ status: number; body: string; sent: number }> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = httpRequest(
      `${url}/invocations`,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(chunked ? {} : { 'content-length': String(total) }),
        },
      },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), sent }),
        );
      },
    );
    // The server may close the connection once it has answered: that is the point, not a failure.
    req.on('error', (error) => (answered ? undefined : reject(error)));
    const chunk = Buffer.alloc(64 * 1024, 'a');
    const pump = () => {
      while (!answered && sent < total) {
        sent += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
      if (!answered) req.end();
    };
    req.write('{"input":{"prompt":"');
    pump();
  });
}

describe('POST /invocations over real HTTP', () => {
  it.each([
    ['with a Content-Length', false],
    ['chunked', true],
  ])('refuses a 50 MB body %s with 413 payload_too_large before reading it', async (_name, chunked) => {
    const app = await buildApp(planner);
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
    await new Promise((resolve) => server.once('listening', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const total = 50 * 1024 * 1024;
      const answer = await sendLargeBody(url, total, chunked);
      expect(answer.status).toBe(413);
      expect(JSON.parse(answer.body)).toStrictEqual({
        error: 'payload_too_large',
        message: expect.any(String),
      });
      // Answered while most of the body was still unsent (socket buffers hold a few MB at most).
      expect(answer.sent).toBeLessThan(total / 4);
    } finally {
      await new Promise((resolve) => {
        server.close(resolve);
        if ('closeAllConnections' in server) server.closeAllConnections();
      });
    }
  });
});
