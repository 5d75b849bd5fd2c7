import { describe, expect, it } from 'vitest';
import { loadDefaultRouteConfig, loadTurnWorkerConfig } from './config.ts';
import { runtimeSessionIdFor } from './runtime-session-id.ts';

describe('loadTurnWorkerConfig', () => {
  it('names every wrong variable', () => {
    let message = '';
    try {
      loadTurnWorkerConfig({ CONNECTIONS_TABLE: 'x', AGENT_URL: 'ftp://agent', PROGRESS_INTERVAL_MS: '-1' });
    } catch (error) {
      message = String(error);
    }
    for (const name of ['CONNECTIONS_TABLE', 'IMAGES_BUCKET', 'AGENT_URL', 'PROGRESS_INTERVAL_MS']) {
      expect(message).toContain(`${name}:`);
    }
  });

  it('requires an agent: AGENT_RUNTIME_ARN or AGENT_URL', () => {
    expect(() => loadTurnWorkerConfig({ CONNECTIONS_TABLE: 'connections', IMAGES_BUCKET: 'images' })).toThrow(
      /AGENT_RUNTIME_ARN: set AGENT_RUNTIME_ARN \(AgentCore\) or AGENT_URL/,
    );
  });

  it('applies the defaults', () => {
    const config = loadTurnWorkerConfig({
      CONNECTIONS_TABLE: 'connections',
      IMAGES_BUCKET: 'images',
      AGENT_RUNTIME_ARN: 'arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/agent-abc',
    });
    expect(config).toMatchObject({
      AWS_REGION: 'us-east-1',
      CONNECTION_TTL_SECONDS: 7500,
      IMAGE_URL_TTL_SECONDS: 3600,
      AGENT_TIMEOUT_MS: 600_000,
      TURN_LEASE_SECONDS: 660,
      S3_FORCE_PATH_STYLE: false,
    });
  });

  it('refuses a turn lease no longer than the agent timeout (two turns of a session could overlap)', () => {
    expect(() =>
      loadTurnWorkerConfig({
        CONNECTIONS_TABLE: 'connections',
        IMAGES_BUCKET: 'images',
        AGENT_URL: 'http://127.0.0.1:8080',
        AGENT_TIMEOUT_MS: '600000',
        TURN_LEASE_SECONDS: '600',
      }),
    ).toThrow(/TURN_LEASE_SECONDS: must be longer than AGENT_TIMEOUT_MS/);
  });
});

describe('loadDefaultRouteConfig', () => {
  it('requires the worker function and applies the defaults', () => {
    expect(() => loadDefaultRouteConfig({ CONNECTIONS_TABLE: 'connections' })).toThrow(
      /TURN_WORKER_FUNCTION:/,
    );
    expect(
      loadDefaultRouteConfig({ CONNECTIONS_TABLE: 'connections', TURN_WORKER_FUNCTION: 'turn-worker' }),
    ).toMatchObject({ MAX_FRAME_BYTES: 32768, TURN_LEASE_SECONDS: 660, AWS_REGION: 'us-east-1' });
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
