import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalImageAnalyzer } from '@agentic-payments/imaging';
import { type BaseModelConfig, type Message, Model, type ModelStreamEvent } from '@strands-agents/sdk';
import { describe, expect, it } from 'vitest';
import { AgentRuntime } from './agent-runtime.ts';
import { createApp, SESSION_HEADER } from './app.ts';
import { loadConfig } from './config.ts';
import { FileSessionMemory } from './file-session-memory.ts';
import type { ModelFactory } from './models.ts';
import { OfflinePlannerModel } from './offline-planner.ts';
import type { AgentWallet } from './wallet.ts';

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
      },
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
      });
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
