import { request } from 'node:http';
import { NODE_MAX_HEADER_BYTES } from '@agentic-payments/x402';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentWallet, type RunningAgent, startAgent } from '../src/index.ts';

/** TEST ONLY: never signs or reads balances (no turn runs here). */
const testWallet: AgentWallet = {
  provider: 'test-wallet',
  address: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
  signTypedData: () => Promise.reject(new Error('test wallet does not sign')),
  balances: () => Promise.reject(new Error('test wallet has no balances')),
};

function rawPost(url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/invocations`, { method: 'POST', headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end('{}');
  });
}

describe('the agent server (Node edge)', () => {
  let agent: RunningAgent;
  beforeAll(async () => {
    agent = await startAgent({ agentWallet: testWallet, port: 0, host: '127.0.0.1', log: () => {} });
  });
  afterAll(() => agent.stop());

  it('reads headers up to the raised limit (Node’s default 16 KiB refused them with an empty 431)', async () => {
    const res = await rawPost(agent.url, {
      'content-type': 'application/json',
      'x-filler': 'A'.repeat(20_000),
    });
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({ error: 'missing_prompt' });
  });

  it('answers headers beyond it with 431 headers_too_large as JSON', async () => {
    const res = await rawPost(agent.url, {
      'content-type': 'application/json',
      'x-filler': 'A'.repeat(NODE_MAX_HEADER_BYTES + 1_000),
    });
    expect(res.status).toBe(431);
    expect(JSON.parse(res.body)).toStrictEqual({ error: 'headers_too_large', message: expect.any(String) });
  });
});
