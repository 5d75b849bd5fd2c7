import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { awsError, type FakeBedrock, jsonReply, startFakeBedrock } from '../test/fake-bedrock-server.ts';
import { ImagingError } from './imaging-error.ts';
import { LocalImageGenerator } from './local-image-generator.ts';
import { NovaCanvasGenerator } from './nova-canvas-generator.ts';
import type { GenerateImageRequest } from './types.ts';

let fake: FakeBedrock;
let samplePng: Uint8Array;

beforeAll(async () => {
  fake = await startFakeBedrock();
  samplePng = (await new LocalImageGenerator().generate(buildRequest({ seed: 9 }))).png;
});
afterAll(() => fake.stop());
beforeEach(() => {
  fake.requests.length = 0;
});

function buildRequest(overrides: Partial<GenerateImageRequest> = {}): GenerateImageRequest {
  return { prompt: 'a lighthouse at dawn', width: 512, height: 512, quality: 'premium', ...overrides };
}

function novaImages(png: Uint8Array = samplePng) {
  return jsonReply({ images: [Buffer.from(png).toString('base64')] });
}

async function rejection(p: Promise<unknown>): Promise<ImagingError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ImagingError);
  return err as ImagingError;
}

describe('NovaCanvasGenerator', () => {
  it('sends a TEXT_IMAGE InvokeModel request and returns the PNG Bedrock sent', async () => {
    fake.reply(() => novaImages());
    const nova = new NovaCanvasGenerator({ client: fake.client(), cfgScale: 8 });
    const image = await nova.generate(buildRequest({ seed: 1234 }));

    expect(fake.requests).toHaveLength(1);
    const [sent] = fake.requests;
    expect(sent?.operation).toBe('invoke');
    expect(sent?.modelId).toBe('amazon.nova-canvas-v1:0');
    expect(sent?.body).toStrictEqual({
      taskType: 'TEXT_IMAGE',
      textToImageParams: { text: 'a lighthouse at dawn' },
      imageGenerationConfig: {
        numberOfImages: 1,
        width: 512,
        height: 512,
        quality: 'premium',
        seed: 1234,
        cfgScale: 8,
      },
    });
    expect(sent?.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDLOCALTEST\/\d{8}\/us-east-1\/bedrock\//,
    );
    expect(sent?.headers['content-type']).toBe('application/json');

    expect(Buffer.from(image.png).equals(Buffer.from(samplePng))).toBe(true);
    expect({ ...image, png: undefined }).toStrictEqual({
      png: undefined,
      mimeType: 'image/png',
      width: 512,
      height: 512,
      seed: 1234,
      generator: 'bedrock:amazon.nova-canvas-v1:0',
      metadata: { modelId: 'amazon.nova-canvas-v1:0', quality: 'premium', cfgScale: '8', seed: '1234' },
    });
  });

  it('picks a seed in Nova range when none is given, sends it and reports it', async () => {
    fake.reply(() => novaImages());
    const image = await new NovaCanvasGenerator({ client: fake.client() }).generate(buildRequest());
    const sent = fake.requests[0]?.body as { imageGenerationConfig: { seed: number; cfgScale: number } };
    expect(sent.imageGenerationConfig.seed).toBe(image.seed);
    expect(image.seed).toBeGreaterThanOrEqual(0);
    expect(image.seed).toBeLessThanOrEqual(858_993_459);
    expect(sent.imageGenerationConfig.cfgScale).toBe(6.5);
  });

  it('uses a configured model id in the path and the generator name', async () => {
    fake.reply(() => novaImages());
    const nova = new NovaCanvasGenerator({
      client: fake.client(),
      modelId: 'arn:aws:bedrock:us-east-1::custom/x',
    });
    const image = await nova.generate(buildRequest());
    expect(fake.requests[0]?.modelId).toBe('arn:aws:bedrock:us-east-1::custom/x');
    expect(image.generator).toBe('bedrock:arn:aws:bedrock:us-east-1::custom/x');
  });

  describe('maps Bedrock failures to our codes, keeping the cause', () => {
    it.each([
      [
        'an input content-filter refusal',
        awsError(
          400,
          'ValidationException',
          'This request has been blocked by our content filters. Please adjust your text prompt to submit a new request.',
        ),
        'content_filtered',
        422,
        'ValidationException',
      ],
      [
        'throttling',
        awsError(429, 'ThrottlingException', 'Too many requests, please wait before trying again.'),
        'model_throttled',
        503,
        'ThrottlingException',
      ],
      [
        'a service quota',
        awsError(400, 'ServiceQuotaExceededException', 'Your request exceeds the service quota.'),
        'model_throttled',
        503,
        'ServiceQuotaExceededException',
      ],
      [
        'no model access',
        awsError(
          403,
          'AccessDeniedException',
          "You don't have access to the model with the specified model ID.",
        ),
        'model_access_denied',
        502,
        'AccessDeniedException',
      ],
      [
        'a model timeout',
        awsError(408, 'ModelTimeoutException', 'Model has timed out.'),
        'generation_timeout',
        504,
        'ModelTimeoutException',
      ],
      [
        'another validation error',
        awsError(400, 'ValidationException', 'Malformed input request: width must be one of ...'),
        'generation_failed',
        502,
        'ValidationException',
      ],
      [
        'an internal error',
        awsError(500, 'InternalServerException', 'Internal server error'),
        'generation_failed',
        502,
        'InternalServerException',
      ],
    ])('%s → %s (%i)', async (_name, reply, code, status, causeName) => {
      fake.reply(() => reply);
      const err = await rejection(
        new NovaCanvasGenerator({ client: fake.client() }).generate(buildRequest()),
      );
      expect([err.code, err.httpStatus]).toStrictEqual([code, status]);
      expect((err.cause as Error).name).toBe(causeName);
    });

    it('an output content-filter refusal (a 200 with an error field) → content_filtered (422)', async () => {
      fake.reply(() =>
        jsonReply({
          images: [],
          error: 'All of the generated images have been blocked by our content filters.',
        }),
      );
      const err = await rejection(
        new NovaCanvasGenerator({ client: fake.client() }).generate(buildRequest()),
      );
      expect([err.code, err.httpStatus]).toStrictEqual(['content_filtered', 422]);
    });

    it.each([
      [
        'a body that is not JSON',
        { status: 200, headers: { 'content-type': 'application/json' }, body: 'oops' },
      ],
      ['no images', jsonReply({ images: [] })],
      [
        'a non-PNG image',
        jsonReply({ images: [Buffer.from('GIF89a not a png at all, really').toString('base64')] }),
      ],
      ['a wrong body shape', jsonReply({ images: 'nope' })],
    ])('a reply with %s → generation_failed (502)', async (_name, reply) => {
      fake.reply(() => reply);
      const err = await rejection(
        new NovaCanvasGenerator({ client: fake.client() }).generate(buildRequest()),
      );
      expect([err.code, err.httpStatus]).toStrictEqual(['generation_failed', 502]);
    });

    it('an image of another size than requested → generation_failed (502)', async () => {
      fake.reply(() => novaImages());
      const err = await rejection(
        new NovaCanvasGenerator({ client: fake.client() }).generate(
          buildRequest({ width: 1024, height: 1024 }),
        ),
      );
      expect(err.code).toBe('generation_failed');
      expect(err.message).toContain('512x512');
    });

    it('no answer before the deadline → generation_timeout (504)', async () => {
      fake.reply(() => ({ ...novaImages(), delayMs: 5_000 }));
      const started = performance.now();
      const err = await rejection(
        new NovaCanvasGenerator({ client: fake.client(), timeoutMs: 150 }).generate(buildRequest()),
      );
      expect([err.code, err.httpStatus]).toStrictEqual(['generation_timeout', 504]);
      expect(performance.now() - started).toBeLessThan(3_000);
    });

    it("the caller's abort → generation_timeout (504)", async () => {
      fake.reply(() => ({ ...novaImages(), delayMs: 5_000 }));
      const controller = new AbortController();
      const pending = new NovaCanvasGenerator({ client: fake.client() }).generate(buildRequest(), {
        signal: controller.signal,
      });
      setTimeout(() => controller.abort(), 50);
      const err = await rejection(pending);
      expect(err.code).toBe('generation_timeout');
    });
  });

  it('lets the SDK retry a throttled call and returns the image of the retry', async () => {
    fake.reply(
      () => awsError(429, 'ThrottlingException', 'Too many requests, please wait before trying again.'),
      () => novaImages(),
    );
    const image = await new NovaCanvasGenerator({ client: fake.client({ maxAttempts: 2 }) }).generate(
      buildRequest(),
    );
    expect(fake.requests).toHaveLength(2);
    expect(Buffer.from(image.png).equals(Buffer.from(samplePng))).toBe(true);
  });

  it('rejects an invalid request with invalid_image_request (400) without calling Bedrock', async () => {
    fake.reply(() => novaImages());
    const err = await rejection(
      new NovaCanvasGenerator({ client: fake.client() }).generate(buildRequest({ prompt: '' })),
    );
    expect([err.code, err.httpStatus]).toStrictEqual(['invalid_image_request', 400]);
    expect(fake.requests).toHaveLength(0);
  });

  it('refuses a cfgScale outside 1.1..10 at construction', () => {
    expect(() => new NovaCanvasGenerator({ client: fake.client(), cfgScale: 11 })).toThrow(RangeError);
  });
});
