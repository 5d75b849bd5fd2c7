import { describe, expect, it } from 'vitest';
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

  it.each([
    ['an unknown kind', { kind: 'openai' }],
    ['an unknown field', { kind: 'local', model: 'x' }],
    ['an endpoint that is not a URL', { kind: 'bedrock', endpoint: 'localhost' }],
  ])('refuses %s', (_name, config) => {
    expect(() => createImageGenerator(config as never)).toThrow(ImagingError);
    expect(() => createImageAnalyzer(config as never)).toThrow(/invalid imaging config/);
  });
});
