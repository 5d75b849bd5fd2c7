import { describe, expect, it } from 'vitest';
import { buildConnectEvent, buildDisconnectEvent } from '../test/events.ts';
import { createMemoryConnectionStore } from './adapters/memory-connection-store.ts';
import { createConnectHandler } from './connect-handler.ts';
import { createDisconnectHandler } from './disconnect-handler.ts';
import { silentLogger } from './logger.ts';

const NOW = 1_795_584_000_000;

describe('createConnectHandler', () => {
  it('stores the connection with a TTL and the callback coordinates', async () => {
    const clock = { now: () => NOW };
    const connections = createMemoryConnectionStore(clock);
    const handler = createConnectHandler({
      connections,
      clock,
      logger: silentLogger,
      connectionTtlSeconds: 7500,
    });
    expect(await handler(buildConnectEvent())).toStrictEqual({ statusCode: 200, body: 'connected' });
    expect(await connections.get('Vv0bJdQxoAMCKzQ=')).toStrictEqual({
      connectionId: 'Vv0bJdQxoAMCKzQ=',
      connectedAt: 1_795_584_000_000,
      ttl: NOW / 1000 + 7500,
      domainName: 'abc123.execute-api.us-east-1.amazonaws.com',
      stage: 'prod',
      sourceIp: '203.0.113.7',
    });
  });

  it('treats a record past its TTL as gone, since DynamoDB deletes late', async () => {
    let now = NOW;
    const clock = { now: () => now };
    const connections = createMemoryConnectionStore(clock);
    await createConnectHandler({ connections, clock, logger: silentLogger, connectionTtlSeconds: 60 })(
      buildConnectEvent(),
    );
    now += 61_000;
    expect(await connections.get('Vv0bJdQxoAMCKzQ=')).toBeUndefined();
  });

  it('refuses the connection (500) when the table write fails', async () => {
    const handler = createConnectHandler({
      connections: {
        put: () => Promise.reject(new Error('ProvisionedThroughputExceededException')),
        get: async () => undefined,
        delete: async () => {},
      },
      clock: { now: () => NOW },
      logger: silentLogger,
      connectionTtlSeconds: 60,
    });
    expect(await handler(buildConnectEvent())).toStrictEqual({ statusCode: 500, body: 'internal_error' });
  });

  it('answers 400 for an event that is not a CONNECT', async () => {
    const connections = createMemoryConnectionStore();
    const handler = createConnectHandler({
      connections,
      clock: { now: () => NOW },
      logger: silentLogger,
      connectionTtlSeconds: 60,
    });
    expect(await handler(buildDisconnectEvent())).toStrictEqual({ statusCode: 400, body: 'invalid_event' });
    expect(connections.records.size).toBe(0);
  });
});

describe('createDisconnectHandler', () => {
  it('deletes the connection', async () => {
    const clock = { now: () => NOW };
    const connections = createMemoryConnectionStore(clock);
    await createConnectHandler({ connections, clock, logger: silentLogger, connectionTtlSeconds: 60 })(
      buildConnectEvent(),
    );
    const handler = createDisconnectHandler({ connections, logger: silentLogger });
    expect(await handler(buildDisconnectEvent())).toStrictEqual({ statusCode: 200, body: 'disconnected' });
    expect(connections.records.size).toBe(0);
  });

  it('answers 400 for an event that is not a DISCONNECT', async () => {
    const handler = createDisconnectHandler({
      connections: createMemoryConnectionStore(),
      logger: silentLogger,
    });
    expect(await handler(buildConnectEvent())).toStrictEqual({ statusCode: 400, body: 'invalid_event' });
  });
});
