import { decodePaymentRequiredHeader } from '@agentic-payments/x402';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { beforeAll, describe, expect, it, vi } from 'vitest';

const SELLER = '0x90F79bf6EB2c4f870365E785982E1f101E93b906';

function httpApiEvent(method: string, path: string, body?: string): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers: { host: 'abc123.execute-api.us-east-1.amazonaws.com', 'content-type': 'application/json' },
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      domainName: 'abc123.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'abc123',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.7', userAgent: 'test' },
      requestId: 'req',
      routeKey: '$default',
      stage: '$default',
      time: '25/Nov/2026:05:00:00 +0000',
      timeEpoch: 1_795_000_000_000,
    },
    body,
    isBase64Encoded: false,
  };
}

let handler: (event: APIGatewayProxyEventV2, context: Context) => Promise<unknown>;

beforeAll(async () => {
  vi.stubEnv('SELLER_ADDRESS', SELLER);
  vi.stubEnv('NETWORK', 'base-sepolia');
  vi.stubEnv('FACILITATOR_KIND', 'x402.org');
  vi.stubEnv('FACILITATOR_URL', 'https://x402.org/facilitator');
  vi.stubEnv('IMAGE_BUCKET', 'test-images');
  vi.stubEnv('IMAGE_GENERATOR', 'bedrock');
  vi.stubEnv('PUBLIC_URL', 'https://abc123.execute-api.us-east-1.amazonaws.com');
  ({ handler } = (await import('./lambda.ts')) as unknown as { handler: typeof handler });
});

describe('lambda handler (API Gateway HTTP API events)', () => {
  it('answers GET /health', async () => {
    const res = (await handler(httpApiEvent('GET', '/health'), {} as Context)) as {
      statusCode: number;
      body: string;
    };
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body)).toStrictEqual({
      status: 'ok',
      service: 'gateway',
      network: 'base-sepolia',
      generator: 'bedrock:amazon.nova-canvas-v1:0',
    });
  });

  it('answers an unpaid POST /generate_image with 402 and the v2 header', async () => {
    const event = httpApiEvent(
      'POST',
      '/generate_image',
      JSON.stringify({ request_id: 'r1', prompt: 'a cat' }),
    );
    const res = (await handler(event, {} as Context)) as {
      statusCode: number;
      body: string;
      headers: Record<string, string>;
    };
    expect(res.statusCode).toBe(402);
    expect(JSON.parse(res.body)).toMatchObject({
      x402Version: 1,
      error: 'payment_required',
      accepts: [{ network: 'base-sepolia', maxAmountRequired: '40000', payTo: SELLER }],
    });
    const header = res.headers['payment-required'] ?? res.headers['PAYMENT-REQUIRED'];
    expect(decodePaymentRequiredHeader(header).resource.url).toBe(
      'https://abc123.execute-api.us-east-1.amazonaws.com/generate_image',
    );
  });
});
