import { describe, expect, it } from 'vitest';
import { loadRealtimeConfig } from './config.ts';
import { runtimeSessionIdFor } from './runtime-session-id.ts';

describe('loadRealtimeConfig', () => {
  it('names every wrong variable', () => {
    let message = '';
    try {
      loadRealtimeConfig({ CONNECTIONS_TABLE: 'x', AGENT_URL: 'ftp://agent', PROGRESS_INTERVAL_MS: '-1' });
    } catch (error) {
      message = String(error);
    }
    for (const name of ['CONNECTIONS_TABLE', 'IMAGES_BUCKET', 'AGENT_URL', 'PROGRESS_INTERVAL_MS']) {
      expect(message).toContain(`${name}:`);
    }
  });

  it('requires an agent: AGENT_RUNTIME_ARN or AGENT_URL', () => {
    expect(() => loadRealtimeConfig({ CONNECTIONS_TABLE: 'connections', IMAGES_BUCKET: 'images' })).toThrow(
      /AGENT_RUNTIME_ARN: set AGENT_RUNTIME_ARN \(AgentCore\) or AGENT_URL/,
    );
  });

  it('applies the defaults', () => {
    const config = loadRealtimeConfig({
      CONNECTIONS_TABLE: 'connections',
      IMAGES_BUCKET: 'images',
      AGENT_RUNTIME_ARN: 'arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/agent-abc',
    });
    expect(config).toMatchObject({
      AWS_REGION: 'us-east-1',
      CONNECTION_TTL_SECONDS: 7500,
      IMAGE_URL_TTL_SECONDS: 3600,
      MAX_FRAME_BYTES: 32768,
      S3_FORCE_PATH_STYLE: false,
    });
  });
});

describe('runtimeSessionIdFor', () => {
  it('is deterministic, distinct per session, and 33..256 characters as AgentCore requires', () => {
    const ids = ['a', 'test-session', 'x'.repeat(128)].map(runtimeSessionIdFor);
    for (const id of ids) {
      expect(id.length).toBeGreaterThanOrEqual(33);
      expect(id.length).toBeLessThanOrEqual(256);
    }
    expect(new Set(ids).size).toBe(3);
    expect(runtimeSessionIdFor('test-session')).toBe(runtimeSessionIdFor('test-session'));
  });
});
