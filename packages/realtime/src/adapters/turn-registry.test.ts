import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  type LocalEngine,
  startLocalConnectionsTable,
} from '../local/local-engines.ts';
import type { TurnRegistry } from '../ports.ts';
import { createDynamoTurnRegistry, turnKey } from './dynamodb-turn-registry.ts';
import { createMemoryTurnRegistry } from './memory-turn-registry.ts';

const NOW = 1_795_584_000_000;
const LEASE = 660;
const A = '6f1c2a8e-4b7d-4c1e-9a55-0d3b8f2e7c10';
const B = '11111111-2222-4333-8444-555555555555';

let dataDir: string;
let table: LocalEngine;
let dynamo: DynamoDBClient;
let sessionCounter = 0;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'realtime-turns-'));
  table = await startLocalConnectionsTable({ directory: dataDir, tableName: 'connections' });
  dynamo = new DynamoDBClient({
    endpoint: table.endpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
  });
});

afterAll(async () => {
  dynamo?.destroy();
  await table?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const adapters: [string, () => TurnRegistry][] = [
  ['memory', () => createMemoryTurnRegistry({ leaseSeconds: LEASE })],
  [
    'dynamodb (dynalite)',
    () =>
      createDynamoTurnRegistry({
        client: DynamoDBDocumentClient.from(dynamo),
        tableName: 'connections',
        leaseSeconds: LEASE,
      }),
  ],
];

type Step =
  | { op: 'begin'; turnId: string; at: number; expect: boolean }
  | { op: 'start'; turnId: string; at: number; expect: boolean }
  | { op: 'finish'; turnId: string };

/** Each row: a sequence of transitions on one session, with what each must answer. */
const TABLE: [string, Step[]][] = [
  ['begin on a free session', [{ op: 'begin', turnId: A, at: 0, expect: true }]],
  [
    'a second begin while queued or running is refused',
    [
      { op: 'begin', turnId: A, at: 0, expect: true },
      { op: 'begin', turnId: B, at: 1, expect: false },
      { op: 'start', turnId: A, at: 2, expect: true },
      { op: 'begin', turnId: B, at: 3, expect: false },
    ],
  ],
  [
    'start runs a queued turn once (a duplicate delivery gets false)',
    [
      { op: 'begin', turnId: A, at: 0, expect: true },
      { op: 'start', turnId: A, at: 1, expect: true },
      { op: 'start', turnId: A, at: 2, expect: false },
    ],
  ],
  [
    'start of another turn id, or of a released turn, gets false',
    [
      { op: 'begin', turnId: A, at: 0, expect: true },
      { op: 'start', turnId: B, at: 1, expect: false },
      { op: 'finish', turnId: A },
      { op: 'start', turnId: A, at: 2, expect: false },
    ],
  ],
  [
    'finish frees the session; finish of another turn id does not',
    [
      { op: 'begin', turnId: A, at: 0, expect: true },
      { op: 'finish', turnId: B },
      { op: 'begin', turnId: B, at: 1, expect: false },
      { op: 'finish', turnId: A },
      { op: 'begin', turnId: B, at: 2, expect: true },
    ],
  ],
  [
    'a record past its lease no longer holds the session, and its late event does not run',
    [
      { op: 'begin', turnId: A, at: 0, expect: true },
      { op: 'begin', turnId: B, at: LEASE - 1, expect: false },
      { op: 'start', turnId: A, at: LEASE, expect: false },
      { op: 'begin', turnId: B, at: LEASE, expect: true },
      { op: 'start', turnId: B, at: LEASE + 1, expect: true },
    ],
  ],
  [
    'start renews the lease for the run',
    [
      { op: 'begin', turnId: A, at: 0, expect: true },
      { op: 'start', turnId: A, at: 600, expect: true },
      { op: 'begin', turnId: B, at: 600 + LEASE - 1, expect: false },
      { op: 'begin', turnId: B, at: 600 + LEASE, expect: true },
    ],
  ],
];

describe.each(adapters)('TurnRegistry over %s', (_name, make) => {
  for (const [title, steps] of TABLE) {
    it(title, async () => {
      const registry = make();
      const sessionId = `session-${++sessionCounter}`;
      for (const step of steps) {
        if (step.op === 'finish') {
          await registry.finish({ sessionId, turnId: step.turnId });
          continue;
        }
        const nowMs = NOW + step.at * 1000;
        const answer =
          step.op === 'begin'
            ? await registry.begin({ sessionId, turnId: step.turnId, connectionId: 'conn=', nowMs })
            : await registry.start({ sessionId, turnId: step.turnId, nowMs });
        expect(answer, `${step.op} ${step.turnId === A ? 'A' : 'B'} at +${step.at}s`).toBe(step.expect);
      }
    });
  }

  it('lets exactly one of many concurrent begins win', async () => {
    const registry = make();
    const sessionId = `session-${++sessionCounter}`;
    const ids = Array.from({ length: 8 }, (_, i) => `00000000-0000-4000-8000-00000000000${i}`);
    const answers = await Promise.all(
      ids.map((turnId) => registry.begin({ sessionId, turnId, connectionId: 'conn=', nowMs: NOW })),
    );
    expect(answers.filter(Boolean)).toHaveLength(1);
  });
});

describe('createDynamoTurnRegistry', () => {
  it('keeps the record beside the connections, under turn#<session>, with a DynamoDB TTL', async () => {
    const registry = adapters[1]?.[1]() as TurnRegistry;
    await registry.begin({ sessionId: 'stored', turnId: A, connectionId: 'conn=', nowMs: NOW });
    const { Item } = await dynamo.send(
      new GetItemCommand({ TableName: 'connections', Key: { connectionId: { S: turnKey('stored') } } }),
    );
    expect(Item).toStrictEqual({
      connectionId: { S: 'turn#stored' },
      turnId: { S: A },
      state: { S: 'queued' },
      sessionId: { S: 'stored' },
      askedBy: { S: 'conn=' },
      acceptedAt: { N: String(NOW) },
      ttl: { N: String(NOW / 1000 + LEASE) },
    });
  });

  it('is cleared when the local table restarts: a starting host runs no turn', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'realtime-turns-restart-'));
    let engine = await startLocalConnectionsTable({ directory: dir, tableName: 'connections' });
    const client = (endpoint: string) =>
      DynamoDBDocumentClient.from(
        new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }),
      );
    const first = createDynamoTurnRegistry({
      client: client(engine.endpoint),
      tableName: 'connections',
      leaseSeconds: LEASE,
    });
    expect(
      await first.begin({ sessionId: 'cut-off', turnId: A, connectionId: 'conn=', nowMs: Date.now() }),
    ).toBe(true);
    await engine.stop();
    engine = await startLocalConnectionsTable({ directory: dir, tableName: 'connections' });
    const second = createDynamoTurnRegistry({
      client: client(engine.endpoint),
      tableName: 'connections',
      leaseSeconds: LEASE,
    });
    expect(
      await second.begin({ sessionId: 'cut-off', turnId: B, connectionId: 'conn=', nowMs: Date.now() }),
    ).toBe(true);
    await engine.stop();
    await rm(dir, { recursive: true, force: true });
  });
});
