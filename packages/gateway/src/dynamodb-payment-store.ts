import {
  type AttributeValue,
  ConditionalCheckFailedException,
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { type LedgerRecord, NEVER_EXPIRES, type PaymentStore } from './payment-store.ts';

/**
 * Item layout (partition key `pk`):
 *   pk, kind, state, version, holder, request_id, fingerprint, lease_until (ms), expires_at (ms),
 *   ttl (s, the table's TTL attribute), created_at (ms), image_id?, authorization? (map),
 *   transaction?, receipt? (map), document? (string: a channel record's JSON)
 * Records that never expire (channels) carry no `ttl`.
 * DynamoDB deletes TTL-expired items up to days late, so every read and `create` also compares
 * `expires_at` with the caller's clock.
 */
const ItemSchema = z.object({
  pk: z.string(),
  kind: z.enum(['purchase', 'authorization', 'channel', 'channel-index', 'settle-due', 'channel-log']),
  state: z.enum(['pending', 'settling', 'settled', 'bound', 'open']),
  version: z.number(),
  holder: z.string(),
  request_id: z.string(),
  fingerprint: z.string(),
  lease_until: z.number(),
  expires_at: z.number(),
  created_at: z.number(),
  image_id: z.string().optional(),
  authorization: z
    .object({ key: z.string().optional(), payer: z.string(), nonce: z.string(), validBefore: z.string() })
    .optional(),
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
  document: z.string().optional(),
});

function toItem(record: LedgerRecord) {
  return {
    pk: record.key,
    kind: record.kind,
    state: record.state,
    version: record.version,
    holder: record.holder,
    request_id: record.requestId,
    fingerprint: record.fingerprint,
    lease_until: record.leaseUntil,
    expires_at: record.expiresAt,
    ttl: record.expiresAt === NEVER_EXPIRES ? undefined : Math.ceil(record.expiresAt / 1000),
    created_at: record.createdAt,
    image_id: record.imageId,
    authorization: record.authorization,
    transaction: record.transaction,
    receipt: record.receipt,
    document: record.document,
  };
}

function toRecord(item: unknown): LedgerRecord {
  const parsed = ItemSchema.parse(item);
  // Absent optional attributes stay absent (not `undefined` keys): the same record as every adapter.
  const optional = {
    imageId: parsed.image_id,
    authorization: parsed.authorization,
    transaction: parsed.transaction,
    receipt: parsed.receipt,
    document: parsed.document,
  };
  return {
    key: parsed.pk,
    kind: parsed.kind,
    state: parsed.state,
    version: parsed.version,
    holder: parsed.holder,
    requestId: parsed.request_id,
    fingerprint: parsed.fingerprint,
    leaseUntil: parsed.lease_until,
    expiresAt: parsed.expires_at,
    createdAt: parsed.created_at,
    ...Object.fromEntries(Object.entries(optional).filter(([, value]) => value !== undefined)),
  };
}

/**
 * The `Item` of a ConditionalCheckFailedException arrives in DynamoDB JSON: the document client
 * does not convert it (aws/aws-sdk-js-v3#6723). Only the types this table stores (S, N, M).
 */
function fromAttributeValue(value: AttributeValue): unknown {
  if (value.S !== undefined) return value.S;
  if (value.N !== undefined) return Number(value.N);
  if (value.BOOL !== undefined) return value.BOOL;
  if (value.M !== undefined) return fromAttributeMap(value.M);
  if (value.NULL !== undefined) return null;
  throw new Error('payment store: unexpected attribute type in a returned item');
}
function fromAttributeMap(map: Record<string, AttributeValue>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(map).map(([name, value]) => [name, fromAttributeValue(value)]));
}

export interface DynamoDbPaymentStoreOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
}

/**
 * PaymentStore on DynamoDB. Operations sent: `PutItem` (create: `attribute_not_exists(pk) OR
 * expires_at <= now`; replace: `version = expected`; put: unconditional), `DeleteItem`
 * (`version = expected`) and `GetItem` (consistent read). A failed condition returns the current
 * item with it (`ReturnValuesOnConditionCheckFailure: ALL_OLD`), so a lost race costs no second
 * round trip; engines that predate that option (dynalite 4) get one consistent `GetItem` instead.
 *
 * @example
 * const store = createDynamoDbPaymentStore({ client: new DynamoDBClient({}), tableName: 'payments' });
 */
export function createDynamoDbPaymentStore(options: DynamoDbPaymentStoreOptions): PaymentStore {
  const doc = DynamoDBDocumentClient.from(options.client, {
    marshallOptions: { removeUndefinedValues: true },
  });
  const TableName = options.tableName;

  const read = async (key: string): Promise<LedgerRecord | undefined> => {
    const result = await doc.send(new GetCommand({ TableName, Key: { pk: key }, ConsistentRead: true }));
    return result.Item === undefined ? undefined : toRecord(result.Item);
  };

  /** Runs a conditional write; on a failed condition, the item that failed it (or undefined). */
  const conditional = async (
    key: string,
    write: () => Promise<unknown>,
  ): Promise<{ ok: true } | { ok: false; existing: LedgerRecord | undefined }> => {
    try {
      await write();
      return { ok: true };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const existing = error.Item === undefined ? await read(key) : toRecord(fromAttributeMap(error.Item));
      return { ok: false, existing };
    }
  };

  return {
    async create(record, now) {
      // A record can be deleted between our failed put and the fallback read; then try again.
      for (let attempt = 0; attempt < 3; attempt++) {
        const result = await conditional(record.key, () =>
          doc.send(
            new PutCommand({
              TableName,
              Item: toItem(record),
              ConditionExpression: 'attribute_not_exists(pk) OR #exp <= :now',
              ExpressionAttributeNames: { '#exp': 'expires_at' },
              ExpressionAttributeValues: { ':now': now },
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            }),
          ),
        );
        if (result.ok) return { created: true };
        if (result.existing !== undefined) return { created: false, existing: result.existing };
      }
      throw new Error('payment store: record kept changing under us');
    },

    async replace(record, expectedVersion) {
      const result = await conditional(record.key, () =>
        doc.send(
          new PutCommand({
            TableName,
            Item: toItem(record),
            ConditionExpression: '#v = :v',
            ExpressionAttributeNames: { '#v': 'version' },
            ExpressionAttributeValues: { ':v': expectedVersion },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        ),
      );
      return result.ok ? { replaced: true } : { replaced: false, existing: result.existing };
    },

    async remove(key, expectedVersion) {
      try {
        await doc.send(
          new DeleteCommand({
            TableName,
            Key: { pk: key },
            ConditionExpression: '#v = :v',
            ExpressionAttributeNames: { '#v': 'version' },
            ExpressionAttributeValues: { ':v': expectedVersion },
          }),
        );
        return true;
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) return false;
        throw error;
      }
    },

    async put(record) {
      await doc.send(new PutCommand({ TableName, Item: toItem(record) }));
    },

    async get(key, now) {
      const record = await read(key);
      return record !== undefined && record.expiresAt > now ? record : undefined;
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
