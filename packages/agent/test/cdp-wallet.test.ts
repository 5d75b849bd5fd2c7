import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { NETWORKS } from '@agentic-payments/x402';
import { recoverTypedDataAddress } from 'viem';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { CDP_SECRET_KEYS, createAgentWallet, type RunningAgent, startAgent } from '../src/index.ts';
import { printWalletAddress } from '../src/wallet-address.ts';
import { type FakeCdpApi, startFakeCdpApi } from './fake-cdp-api.ts';
import { type Stack, say, startStack } from './stack.ts';

/** Nothing listens here: these tests never reach the chain (balances are not asked for). */
const RPC_URL = 'http://127.0.0.1:9';

/**
 * TEST ONLY: a local stand-in for Secrets Manager's GetSecretValue (JSON 1.1 protocol, the request
 * the SDK sends), holding one secret whose value the test changes.
 */
async function startFakeSecretsManager(arn: string) {
  const state = { secret: '' as string | undefined, calls: 0 };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { SecretId?: string };
      const json = (status: number, value: unknown) =>
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify(value));
      if (req.headers['x-amz-target'] !== 'secretsmanager.GetSecretValue') {
        return json(400, { __type: 'UnknownOperationException', message: 'not faked' });
      }
      state.calls += 1;
      if (body.SecretId !== arn || state.secret === undefined) {
        return json(400, {
          __type: 'ResourceNotFoundException',
          message: "Secrets Manager can't find the secret.",
        });
      }
      return json(200, { ARN: arn, Name: 'cdp', SecretString: state.secret, VersionId: 'v1' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, state, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:cdp-AbCdEf';
/** What the CDK stack's generated secret holds until the operator puts the credentials. */
const PLACEHOLDER = JSON.stringify({
  CDP_API_KEY_ID: '',
  CDP_API_KEY_SECRET: '',
  CDP_WALLET_SECRET: '',
  placeholder: 'q8Zx0m',
});

describe('the agent wallet on CDP (against a local stand-in of the CDP API)', () => {
  let cdp: FakeCdpApi;
  let secrets: Awaited<ReturnType<typeof startFakeSecretsManager>>;
  const agents: RunningAgent[] = [];

  beforeAll(async () => {
    cdp = await startFakeCdpApi();
    secrets = await startFakeSecretsManager(SECRET_ARN);
    vi.stubEnv('AWS_ENDPOINT_URL_SECRETS_MANAGER', secrets.url);
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDTEST');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test-secret');
  });
  afterEach(async () => {
    await Promise.all(agents.splice(0).map((a) => a.stop()));
  });
  afterAll(async () => {
    vi.unstubAllEnvs();
    await cdp.close();
    await new Promise((resolve) => (secrets.server as Server).close(resolve));
  });

  const start = (env: Record<string, string>, log: (e: Record<string, unknown>) => void = () => {}) =>
    startAgent({
      env: { RPC_URL, CDP_API_URL: cdp.url, ...env },
      port: 0,
      host: '127.0.0.1',
      log,
    }).then((agent) => {
      agents.push(agent);
      return agent;
    });

  it('uses one CDP account per deployment: two container starts sign with the same address', async () => {
    const env = {
      CDP_API_KEY_ID: cdp.credentials.apiKeyId,
      CDP_API_KEY_SECRET: cdp.credentials.apiKeySecret,
      CDP_WALLET_SECRET: cdp.credentials.walletSecret,
    };
    const first = await start(env);
    const a = await first.wallet();
    await first.stop();
    const second = await start(env);
    const b = await second.wallet();

    expect(a.state).toBe('ready');
    expect(b).toStrictEqual(a);
    expect(cdp.accounts.map((x) => [x.name, x.address])).toStrictEqual([
      ['x402-image-agent', a.state === 'ready' ? a.address : ''],
    ]);
    // First start: lookup by name (404), create. Second start: lookup by name only.
    expect(cdp.calls.filter((c) => c.startsWith('POST'))).toStrictEqual(['POST /platform/v2/evm/accounts']);
    expect(cdp.calls.filter((c) => c.includes('/by-name/x402-image-agent'))).toHaveLength(2);
  });

  it("the README's funding step: wallet-address prints, before any session, the address the agent then uses", async () => {
    secrets.state.secret = JSON.stringify({
      CDP_API_KEY_ID: cdp.credentials.apiKeyId,
      CDP_API_KEY_SECRET: cdp.credentials.apiKeySecret,
      CDP_WALLET_SECRET: cdp.credentials.walletSecret,
      CDP_ACCOUNT_NAME: 'funding-step',
    });
    const env = {
      CDP_SECRET_ARN: SECRET_ARN,
      CDP_API_URL: cdp.url,
      AWS_REGION: 'us-east-1',
    };
    const out: string[] = [];
    const errors: string[] = [];
    const code = await printWalletAddress(env, { stdout: (t) => out.push(t), stderr: (t) => errors.push(t) });
    expect([code, errors]).toStrictEqual([0, []]);
    const stdout = out.join('');
    const printed = stdout.trim();
    expect(printed).toMatch(/^0x[0-9a-fA-F]{40}$/);

    const agent = await start({ CDP_SECRET_ARN: SECRET_ARN });
    expect(await agent.wallet()).toMatchObject({ state: 'ready', address: printed });
    expect(cdp.accounts.filter((a) => a.name === 'funding-step')).toHaveLength(1);
  });

  it('signs x402 authorizations with that account through CDP (AgentKit CdpEvmWalletProvider)', async () => {
    const config = {
      kind: 'cdp' as const,
      ...cdp.credentials,
      accountName: 'signing-test',
      apiUrl: cdp.url,
    };
    const wallet = await createAgentWallet({
      wallet: config,
      network: NETWORKS['base-sepolia'],
      rpcUrl: RPC_URL,
    });
    const again = await createAgentWallet({
      wallet: config,
      network: NETWORKS['base-sepolia'],
      rpcUrl: RPC_URL,
    });
    expect(wallet.provider).toBe('agentkit-cdp');
    expect(again.address).toBe(wallet.address);

    const typedData = {
      domain: {
        name: 'USDC',
        version: '2',
        chainId: 84532,
        verifyingContract: NETWORKS['base-sepolia'].usdcAddress,
      },
      types: {
        TransferWithAuthorization: [
          { name: 'from', type: 'address' },
          { name: 'to', type: 'address' },
          { name: 'value', type: 'uint256' },
          { name: 'validAfter', type: 'uint256' },
          { name: 'validBefore', type: 'uint256' },
          { name: 'nonce', type: 'bytes32' },
        ],
      },
      primaryType: 'TransferWithAuthorization',
      message: {
        from: wallet.address,
        to: '0x90F79bf6EB2c4f870365E785982E1f101E93b906',
        value: 40000n,
        validAfter: 0n,
        validBefore: 2_000_000_000n,
        nonce: `0x${'ab'.repeat(32)}`,
      },
    } as const;
    const signature = await wallet.signTypedData(typedData as never);
    expect(await recoverTypedDataAddress({ ...typedData, signature })).toBe(wallet.address);
  });

  it('listens before the wallet is open: /ping answers while CDP has not answered yet', async () => {
    cdp.hold();
    try {
      const agent = await start({
        CDP_API_KEY_ID: cdp.credentials.apiKeyId,
        CDP_API_KEY_SECRET: cdp.credentials.apiKeySecret,
        CDP_WALLET_SECRET: cdp.credentials.walletSecret,
        CDP_ACCOUNT_NAME: 'slow-cdp',
      });
      const ping = await fetch(`${agent.url}/ping`);
      expect(ping.status).toBe(200);
      expect(await ping.json()).toMatchObject({ status: 'Healthy', wallet: 'resolving' });
      cdp.release();
      expect((await agent.wallet()).state).toBe('ready');
    } finally {
      cdp.release();
    }
  });

  it('with the placeholder secret, /ping is Healthy and names the missing keys; /invocations replies why', async () => {
    secrets.state.secret = PLACEHOLDER;
    const cdpCallsBefore = cdp.calls.length;
    const logs: Record<string, unknown>[] = [];
    const agent = await start({ CDP_SECRET_ARN: SECRET_ARN }, (e) => logs.push(e));
    expect(await agent.wallet()).toMatchObject({
      state: 'failed',
      problem: { error: 'wallet_not_configured', missing: [...CDP_SECRET_KEYS] },
    });

    const ping = await fetch(`${agent.url}/ping`);
    expect(ping.status).toBe(200);
    expect(await ping.json()).toMatchObject({
      status: 'Healthy',
      wallet: 'wallet_not_configured',
      missing: ['CDP_API_KEY_ID', 'CDP_API_KEY_SECRET', 'CDP_WALLET_SECRET'],
    });

    const res = await fetch(`${agent.url}/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ input: { prompt: 'what are my wallet details?' }, session_id: 's-1' }),
    });
    const { output } = (await res.json()) as {
      output: {
        message: { content: { text: string }[] };
        error: string;
        missing: string[];
        session_id: string;
      };
    };
    // A reply the chat shows (AgentCore would hide a 5xx body behind RuntimeClientError).
    expect(res.status).toBe(200);
    expect(output.error).toBe('wallet_not_configured');
    expect(output.session_id).toBe('s-1');
    expect(output.missing).toStrictEqual([...CDP_SECRET_KEYS]);
    const text = output.message.content[0]?.text ?? '';
    expect(text).toContain('CDP_API_KEY_ID, CDP_API_KEY_SECRET, CDP_WALLET_SECRET');
    expect(text.length).toBeLessThanOrEqual(500);
    expect(logs.some((e) => e.event === 'wallet_not_configured')).toBe(true);
    // Empty credentials never reach CDP.
    expect(cdp.calls.length).toBe(cdpCallsBefore);
  });

  it('names only the key still missing, then opens the wallet once the operator puts it (no restart)', async () => {
    secrets.state.secret = JSON.stringify({
      CDP_API_KEY_ID: cdp.credentials.apiKeyId,
      CDP_API_KEY_SECRET: cdp.credentials.apiKeySecret,
      CDP_WALLET_SECRET: '',
    });
    const agent = await start({ CDP_SECRET_ARN: SECRET_ARN });
    expect((await agent.wallet()).state).toBe('failed');
    const ping = (await (await fetch(`${agent.url}/ping`)).json()) as { missing: string[]; message: string };
    expect(ping.missing).toStrictEqual(['CDP_WALLET_SECRET']);
    expect(ping.message).toContain('has no CDP_WALLET_SECRET.');

    secrets.state.secret = JSON.stringify({
      CDP_API_KEY_ID: cdp.credentials.apiKeyId,
      CDP_API_KEY_SECRET: cdp.credentials.apiKeySecret,
      CDP_WALLET_SECRET: cdp.credentials.walletSecret,
      CDP_ACCOUNT_NAME: 'from-the-secret',
    });
    const opened = await agent.wallet();
    expect(opened.state).toBe('ready');
    expect(cdp.accounts.find((a) => a.name === 'from-the-secret')?.address).toBe(
      opened.state === 'ready' ? opened.address : undefined,
    );
  });

  it('reports credentials CDP refuses without exposing them', async () => {
    const other = await startFakeCdpApi();
    try {
      const agent = await start({
        CDP_API_KEY_ID: other.credentials.apiKeyId,
        CDP_API_KEY_SECRET: other.credentials.apiKeySecret,
        CDP_WALLET_SECRET: other.credentials.walletSecret,
      });
      const state = await agent.wallet();
      expect(state).toMatchObject({ state: 'failed', problem: { error: 'wallet_unavailable' } });
      const text = JSON.stringify(await (await fetch(`${agent.url}/ping`)).json());
      expect(text).toContain('unauthorized');
      expect(text).not.toContain(other.credentials.apiKeySecret.slice(0, 12));
    } finally {
      await other.close();
    }
  });

  it('the funded CDP wallet pays for an image over x402 on the devnet, and a restart pays from the same address', async () => {
    const stack: Stack = await startStack(inject('devnet'));
    try {
      const env = {
        CDP_API_KEY_ID: cdp.credentials.apiKeyId,
        CDP_API_KEY_SECRET: cdp.credentials.apiKeySecret,
        CDP_WALLET_SECRET: cdp.credentials.walletSecret,
        CDP_ACCOUNT_NAME: 'devnet-payer',
        CDP_API_URL: cdp.url,
        RPC_URL: stack.devnet.rpcUrl,
        GATEWAY_URL: stack.gatewayUrl,
        SELLER_ADDRESS: stack.sellerAddress,
        EXPLORER_URL: stack.explorerUrl,
        DATA_DIR: stack.dataDir,
      };
      // The README's order: print the address, fund it, then chat.
      const out: string[] = [];
      expect(await printWalletAddress(env, { stdout: (t) => out.push(t), stderr: () => {} })).toBe(0);
      const address = out.join('').trim() as `0x${string}`;
      await stack.devnet.mintUsdc(address, 1_000_000n);

      for (const [i, session] of ['cdp-a', 'cdp-b'].entries()) {
        const agent = await start(env);
        const reply = await say(agent.url, session, 'Generate an image of a futuristic city at sunset');
        expect(reply.status).toBe(200);
        expect(reply.body.output.payments).toHaveLength(1);
        expect(reply.body.output.wallet?.address).toBe(address);
        expect(await stack.devnet.usdcBalance(address)).toBe(1_000_000n - 40_000n * BigInt(i + 1));
        await agent.stop();
      }
      expect(cdp.accounts.filter((a) => a.name === 'devnet-payer')).toHaveLength(1);
    } finally {
      await stack.stop();
    }
  });
});
