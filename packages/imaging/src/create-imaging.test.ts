import { afterEach, describe, expect, it, vi } from 'vitest';
import { jsonReply, startFakeBedrock } from '../test/fake-bedrock-server.ts';
import { ClaudeVisionAnalyzer } from './claude-vision-analyzer.ts';
import { createImageAnalyzer, createImageGenerator } from './create-imaging.ts';
import { ImagingError } from './imaging-error.ts';
import { LocalImageAnalyzer } from './local-image-analyzer.ts';
import { LocalImageGenerator } from './local-image-generator.ts';
import { NovaCanvasGenerator } from './nova-canvas-generator.ts';

describe('createImageGenerator / createImageAnalyzer', () => {
  it('builds the local stand-ins for kind local', () => {
    expect(createImageGenerator({ kind: 'local' })).toBeInstanceOf(LocalImageGenerator);
    expect(createImageAnalyzer({ kind: 'local' })).toBeInstanceOf(LocalImageAnalyzer);
  });

  it('builds the Bedrock adapters with the configured model id for kind bedrock', () => {
    const generator = createImageGenerator({ kind: 'bedrock', region: 'us-east-1' });
    expect(generator).toBeInstanceOf(NovaCanvasGenerator);
    expect(generator.name).toBe('bedrock:amazon.nova-canvas-v1:0');
    const analyzer = createImageAnalyzer({
      kind: 'bedrock',
      region: 'us-west-2',
      modelId: 'us.anthropic.claude-haiku-4-5-20251001-v1:0',
    });
    expect(analyzer).toBeInstanceOf(ClaudeVisionAnalyzer);
    expect(analyzer.name).toBe('bedrock:us.anthropic.claude-haiku-4-5-20251001-v1:0');
  });

  it('refuses a bedrock analyzer without the configured model id (no hard-coded default)', () => {
    expect(() => createImageAnalyzer({ kind: 'bedrock', region: 'eu-west-1' })).toThrow(/modelId/);
  });

  it.each([
    ['an unknown kind', { kind: 'openai' }],
    ['an unknown field', { kind: 'local', model: 'x' }],
    ['an endpoint that is not a URL', { kind: 'bedrock', endpoint: 'localhost' }],
  ])('refuses %s', (_name, config) => {
    expect(() => createImageGenerator(config as never)).toThrow(ImagingError);
    expect(() => createImageAnalyzer(config as never)).toThrow(/invalid imaging config/);
  });

  describe('with an http:// endpoint override', () => {
    afterEach(() => {
      vi.unstubAllEnvs();
    });

    it('talks HTTP/1.1 to it with credentials from the environment', async () => {
      vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDFROMENV');
      vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'env-secret');
      const fake = await startFakeBedrock();
      try {
        const png = (
          await new LocalImageGenerator().generate({
            prompt: 'dunes',
            width: 320,
            height: 320,
            quality: 'standard',
          })
        ).png;
        fake.reply(() => jsonReply({ images: [Buffer.from(png).toString('base64')] }));
        const generator = createImageGenerator({ kind: 'bedrock', region: 'eu-west-1', endpoint: fake.url });
        const image = await generator.generate({
          prompt: 'dunes',
          width: 320,
          height: 320,
          quality: 'standard',
        });
        expect(Buffer.from(image.png).equals(Buffer.from(png))).toBe(true);
        expect(fake.requests[0]?.headers.authorization).toContain('Credential=AKIDFROMENV/');
        expect(fake.requests[0]?.headers.authorization).toContain('/eu-west-1/bedrock/');
      } finally {
        await fake.stop();
      }
    });
  });
});
