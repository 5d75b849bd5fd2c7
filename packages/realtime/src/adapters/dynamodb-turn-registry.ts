import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, type DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { TurnRegistry } from '../ports.ts';

/**
 * Turn records live in the connections table under `turn#<sessionId>` (session ids have no `#`,
 * API Gateway connection ids are base64), so no second table and no second grant surface. Every
 * transition is one conditional write; `ttl` is the lease, also read by DynamoDB TTL to drop
 * records of a worker that died, and checked in the conditions since TTL deletes late.
 */
export function createDynamoTurnRegistry(options: {
  client: DynamoDBDocumentClient;
  tableName: string;
  /** How long a turn may hold its session: longer than the worker function's timeout. */
  leaseSeconds: number;
}): TurnRegistry {
  const { client, tableName, leaseSeconds } = options;
  const key = (sessionId: string) => ({ connectionId: turnKey(sessionId) });
  return {
    async begin({ sessionId, turnId, connectionId, nowMs }) {
      const nowSeconds = Math.floor(nowMs / 1000);
      try {
        await client.send(
          new PutCommand({
            TableName: tableName,
            Item: {
              ...key(sessionId),
              turnId,
              state: 'queued',
              sessionId,
              askedBy: connectionId,
              acceptedAt: nowMs,
              ttl: nowSeconds + leaseSeconds,
            },
            ConditionExpression: 'attribute_not_exists(connectionId) OR #ttl <= :now',
            ExpressionAttributeNames: { '#ttl': 'ttl' },
            ExpressionAttributeValues: { ':now': nowSeconds },
          }),
        );
        return true;
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) return false;
        throw error;
      }
    },
    async start({ sessionId, turnId, nowMs }) {
      const nowSeconds = Math.floor(nowMs / 1000);
      try {
        await client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: key(sessionId),
            UpdateExpression: 'SET #state = :running, startedAt = :nowMs, #ttl = :lease',
            ConditionExpression: 'turnId = :turnId AND #state = :queued AND #ttl > :now',
            ExpressionAttributeNames: { '#state': 'state', '#ttl': 'ttl' },
            ExpressionAttributeValues: {
              ':running': 'running',
              ':queued': 'queued',
              ':turnId': turnId,
              ':now': nowSeconds,
              ':nowMs': nowMs,
              ':lease': nowSeconds + leaseSeconds,
            },
          }),
        );
        return true;
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) return false;
        throw error;
      }
    },
    async finish({ sessionId, turnId }) {
      try {
        await client.send(
          new DeleteCommand({
            TableName: tableName,
            Key: key(sessionId),
            ConditionExpression: 'turnId = :turnId',
            ExpressionAttributeValues: { ':turnId': turnId },
          }),
        );
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    },
  };
}

/** The connections-table key of a session's in-flight turn record. */
export function turnKey(sessionId: string): string {
  return `turn#${sessionId}`;
}
