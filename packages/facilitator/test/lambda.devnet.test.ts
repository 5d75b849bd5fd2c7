import type { LambdaContext, LambdaEvent } from 'hono/aws-lambda';
import { createWalletClient, http } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { freshSeller, PRICE, requirementsV2, signV2, startFixture } from './devnet-helpers.ts';

/** An API Gateway HTTP API (payload v2.0) event, as Lambda receives it. */
function httpApiEvent(method: string, path: string, body: string | null = null): LambdaEvent {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers: { 'content-type': 'application/json', host: 'facilitator.example.com' },
    requestContext: {
      accountId: '123456789012',
      apiId: 'api1',
      authentication: null,
      authorizer: {},
      domainName: 'facilitator.example.com',
      domainPrefix: 'facilitator',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.7', userAgent: 'test' },
      requestId: 'req-1',
      routeKey: '$default',
      stage: '$default',
      time: '25/Nov/2026:05:00:00 +0000',
      timeEpoch: 1_795_000_000_000,
    },
    body,
    isBase64Encoded: false,
  };
}

const context: LambdaContext = {
  callbackWaitsForEmptyEventLoop: true,
  functionName: 'facilitator',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:facilitator',
  memoryLimitInMB: '512',
  awsRequestId: 'req-1',
  logGroupName: '/aws/lambda/facilitator',
  logStreamName: '2026/11/25/[$LATEST]abc',
  getRemainingTimeInMillis: () => 30_000,
};

describe('the Lambda handler', () => {
  it('serves /health, rejects a malformed body with 400 and settles a real payment', async () => {
    // A settler of this file's own; the Lambda module reads its configuration at import.
    const fx = await startFixture();
    await fx.facilitator.stop();
    process.env.FACILITATOR_RPC_URL = fx.devnet.rpcUrl;
    process.env.FACILITATOR_NETWORK = 'devnet';
    process.env.FACILITATOR_PRIVATE_KEY = fx.settler.privateKey;
    const { handler } = await import('../src/lambda.ts');
    const invoke = (event: LambdaEvent) => handler(event, context);

    const health = await invoke(httpApiEvent('GET', '/health'));
    expect(health.statusCode).toBe(200);
    expect(JSON.parse(health.body)).toStrictEqual({
      status: 'ok',
      network: 'eip155:84532',
      v1Network: 'base-sepolia',
      signers: [fx.settler.address],
    });

    const malformed = await invoke(httpApiEvent('POST', '/verify', '{"paymentPayload":{}}'));
    expect(malformed.statusCode).toBe(400);
    expect(JSON.parse(malformed.body)).toMatchObject({ error: 'invalid_request', isValid: false });

    const [payer] = await fx.devnet.fundPayers(1, 1_000_000n);
    if (!payer) throw new Error('no payer');
    const seller = freshSeller();
    const paymentPayload = await signV2(payer, requirementsV2(fx.devnet, seller));
    const body = JSON.stringify({
      x402Version: 2,
      paymentPayload,
      paymentRequirements: paymentPayload.accepted,
    });
    const settled = await invoke(httpApiEvent('POST', '/settle', body));
    expect(settled.statusCode).toBe(200);
    expect(JSON.parse(settled.body)).toMatchObject({ success: true, network: 'eip155:84532' });
    expect(await fx.devnet.usdcBalance(seller)).toBe(PRICE);
  });
});

describe('when another process used the settler nonce', () => {
  it('resyncs on "nonce too low" and still settles', async () => {
    const fx = await startFixture();
    try {
      const [first, second] = await fx.devnet.fundPayers(2, 1_000_000n);
      if (!first || !second) throw new Error('no payers');
      const seller = freshSeller();
      const settle = async (payer: typeof first) => {
        const paymentPayload = await signV2(payer, requirementsV2(fx.devnet, seller));
        const res = await fetch(`${fx.facilitator.url}/settle`, {
          method: 'POST',
          body: JSON.stringify({
            x402Version: 2,
            paymentPayload,
            paymentRequirements: paymentPayload.accepted,
          }),
        });
        return (await res.json()) as Record<string, unknown>;
      };
      expect(await settle(first)).toMatchObject({ success: true });

      // The same key sends a transaction behind the facilitator's back: its local counter is stale.
      const wallet = createWalletClient({
        account: privateKeyToAccount(fx.settler.privateKey),
        chain: fx.devnet.publicClient.chain,
        transport: http(fx.devnet.rpcUrl),
      });
      await fx.devnet.publicClient.waitForTransactionReceipt({
        hash: await wallet.sendTransaction({ to: fx.settler.address, value: 0n }),
        pollingInterval: 20,
      });
      const resyncs = fx.facilitator.stats().nonceResyncs;

      expect(await settle(second)).toMatchObject({ success: true });
      expect(fx.facilitator.stats().nonceResyncs).toBe(resyncs + 1);
      expect(await fx.devnet.usdcBalance(seller)).toBe(2n * PRICE);
    } finally {
      await fx.facilitator.stop();
    }
  });
});
