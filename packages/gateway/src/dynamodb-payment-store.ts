import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { type PaymentRecord, type PaymentStore, type RecordGuard, settledRecords } from './payment-store.ts';

/**
 * Item layout (partition key `pk`):
 *   pk, request_id, fingerprint, state, lease_until (ms), expires_at (ms), ttl (s, the table's TTL
 *   attribute), created_at (ms), image_id?, transaction?, receipt? (map)
 * DynamoDB deletes TTL-expired items up to days late, so every read and every conditional write also
 * compares `expires_at` with the caller's clock.
 */
const ItemSchema = z.object({
  pk: z.string(),
  request_id: z.string(),
  fingerprint: z.string(),
  state: z.enum(['pending', 'settling', 'settled']),
  lease_until: z.number(),
  expires_at: z.number(),
  created_at: z.number(),
  image_id: z.string().optional(),
  transaction: z.string().optional(),
  receipt: z
    .object({
      transaction: z.string(),
      payer: z.string(),
      network: z.string(),
      atomicAmount: z.string(),
      imageId: z.string(),
      mimeType: z.string(),
      settledAt: z.number(),
    })
    .optional(),
});

function toItem(record: PaymentRecord) {
  return {
    pk: record.key,
    request_id: record.requestId,
    fingerprint: record.fingerprint,
    state: record.state,
    lease_until: record.leaseUntil,
    expires_at: record.expiresAt,
    ttl: Math.ceil(record.expiresAt / 1000),
    created_at: record.createdAt,
    image_id: record.imageId,
    transaction: record.transaction,
    receipt: record.receipt,
  };
}

/** Attempts of one BatchWriteItem while DynamoDB hands items back unprocessed (throttling). */
const BATCH_ATTEMPTS = 4;

function toRecord(item: unknown): PaymentRecord {
  const parsed = ItemSchema.parse(item);
  return {
    key: parsed.pk,
    requestId: parsed.request_id,
    fingerprint: parsed.fingerprint,
    state: parsed.state,
    leaseUntil: parsed.lease_until,
    expiresAt: parsed.expires_at,
    createdAt: parsed.created_at,
    imageId: parsed.image_id,
    transaction: parsed.transaction,
    receipt: parsed.receipt,
  };
}

const GUARD_CONDITION = '#rid = :rid AND #state = :gstate AND #lease = :glease';
const GUARD_NAMES = { '#rid': 'request_id', '#state': 'state', '#lease': 'lease_until' } as const;
function guardValues(guard: RecordGuard) {
  return { ':rid': guard.requestId, ':gstate': guard.state, ':glease': guard.leaseUntil };
}

export interface DynamoDbPaymentStoreOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
}

/**
 * PaymentStore on DynamoDB: `reserve` is a conditional put (`attribute_not_exists(pk)`, or an item
 * already past its expiry); every transition is a conditional update / delete on the holder's
 * request id, state and lease. Works unchanged on dynalite (no TTL, no transactions needed).
 *
 * @example
 * const store = createDynamoDbPaymentStore({ client: new DynamoDBClient({}), tableName: 'payments' });
 */
export function createDynamoDbPaymentStore(options: DynamoDbPaymentStoreOptions): PaymentStore {
  const doc = DynamoDBDocumentClient.from(options.client, {
    marshallOptions: { removeUndefinedValues: true },
  });
  const TableName = options.tableName;

  const isConditionFailure = (error: unknown) => error instanceof ConditionalCheckFailedException;

  return {
    async reserve(params) {
      const record: PaymentRecord = {
        key: params.key,
        requestId: params.requestId,
        fingerprint: params.fingerprint,
        state: params.receipt === undefined ? 'pending' : 'settled',
        leaseUntil: params.leaseUntil,
        expiresAt: params.expiresAt,
        createdAt: params.now,
        imageId: params.imageId,
        receipt: params.receipt,
      };
      const item = toItem(record);
      // A record can be released between our failed put and our read; then simply try again.
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          await doc.send(
            new PutCommand({
              TableName,
              Item: item,
              ConditionExpression: 'attribute_not_exists(pk) OR #exp <= :now',
              ExpressionAttributeNames: { '#exp': 'expires_at' },
              ExpressionAttributeValues: { ':now': params.now },
            }),
          );
          return { reserved: true, record: toRecord(item) };
        } catch (error) {
          if (!isConditionFailure(error)) throw error;
        }
        const existing = await doc.send(
          new GetCommand({ TableName, Key: { pk: params.key }, ConsistentRead: true }),
        );
        if (existing.Item !== undefined) return { reserved: false, existing: toRecord(existing.Item) };
      }
      throw new Error('payment store: reservation kept changing under us');
    },

    async transition(guard, update) {
      const sets = ['#state = :state', '#lease = :lease'];
      const names: Record<string, string> = { ...GUARD_NAMES };
      const values: Record<string, unknown> = {
        ...guardValues(guard),
        ':state': update.state,
        ':lease': update.leaseUntil,
      };
      const optional: Array<[string, string, unknown]> = [
        ['expires_at', ':exp', update.expiresAt],
        ['ttl', ':ttl', update.expiresAt === undefined ? undefined : Math.ceil(update.expiresAt / 1000)],
        ['image_id', ':img', update.imageId],
        ['transaction', ':tx', update.transaction],
        ['receipt', ':receipt', update.receipt],
      ];
      for (const [attribute, placeholder, value] of optional) {
        if (value === undefined) continue;
        names[`#${attribute}`] = attribute;
        values[placeholder] = value;
        sets.push(`#${attribute} = ${placeholder}`);
      }
      try {
        const result = await doc.send(
          new UpdateCommand({
            TableName,
            Key: { pk: guard.key },
            UpdateExpression: `SET ${sets.join(', ')}`,
            ConditionExpression: `attribute_exists(pk) AND ${GUARD_CONDITION}`,
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
            ReturnValues: 'ALL_NEW',
          }),
        );
        return toRecord(result.Attributes);
      } catch (error) {
        if (isConditionFailure(error)) return undefined;
        throw error;
      }
    },

    async release(guard) {
      try {
        await doc.send(
          new DeleteCommand({
            TableName,
            Key: { pk: guard.key },
            ConditionExpression: `attribute_exists(pk) AND ${GUARD_CONDITION}`,
            ExpressionAttributeNames: GUARD_NAMES,
            ExpressionAttributeValues: guardValues(guard),
          }),
        );
        return true;
      } catch (error) {
        if (isConditionFailure(error)) return false;
        throw error;
      }
    },

    async saveSettled(params) {
      let writes = settledRecords(params).map((record) => ({ PutRequest: { Item: toItem(record) } }));
      for (let attempt = 0; writes.length > 0; attempt++) {
        if (attempt >= BATCH_ATTEMPTS) throw new Error('payment store: settled records left unprocessed');
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
        const result = await doc.send(new BatchWriteCommand({ RequestItems: { [TableName]: writes } }));
        writes = (result.UnprocessedItems?.[TableName] ?? []) as typeof writes;
      }
    },

    async get(key, now) {
      const result = await doc.send(new GetCommand({ TableName, Key: { pk: key }, ConsistentRead: true }));
      if (result.Item === undefined) return undefined;
      const record = toRecord(result.Item);
      return record.expiresAt > now ? record : undefined;
    },
  };
}

/**
 * Create the payments table if it does not exist (local engine only; in the cloud the CDK stack owns
 * the table and its TTL setting).
 */
export async function ensurePaymentTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      const described = await client.send(new DescribeTableCommand({ TableName: tableName }));
      if (described.Table?.TableStatus === 'ACTIVE') return;
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`table ${tableName} did not become ACTIVE`);
}
