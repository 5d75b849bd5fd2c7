import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import type { Clock, ConnectionRecord, ConnectionStore } from '../ports.ts';

const StoredConnection = z.object({
  connectionId: z.string(),
  connectedAt: z.number(),
  ttl: z.number(),
  domainName: z.string(),
  stage: z.string(),
  sourceIp: z.string().optional(),
});

/**
 * Connections in DynamoDB, keyed by `connectionId`, with a `ttl` attribute for DynamoDB TTL. TTL
 * deletion runs up to days late (and dynalite has none), so `get` treats expired records as absent.
 */
export function createDynamoConnectionStore(options: {
  client: DynamoDBDocumentClient;
  tableName: string;
  clock: Clock;
}): ConnectionStore {
  const { client, tableName, clock } = options;
  return {
    async put(record: ConnectionRecord) {
      const item = Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined));
      await client.send(new PutCommand({ TableName: tableName, Item: item }));
    },
    async get(connectionId) {
      const { Item } = await client.send(
        new GetCommand({ TableName: tableName, Key: { connectionId }, ConsistentRead: true }),
      );
      if (!Item) return undefined;
      const parsed = StoredConnection.safeParse(Item);
      if (!parsed.success) return undefined;
      return parsed.data.ttl * 1000 > clock.now() ? parsed.data : undefined;
    },
    async delete(connectionId) {
      await client.send(new DeleteCommand({ TableName: tableName, Key: { connectionId } }));
    },
  };
}
