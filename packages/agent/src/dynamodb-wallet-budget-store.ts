import { AppError } from '@agentic-payments/x402';
import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  type GetItemCommandOutput,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { BudgetLedger, type WalletBudgetStore } from './wallet-budget.ts';

/** The DynamoDB operations this adapter sends (the agent role is granted exactly these). */
export const WALLET_BUDGET_TABLE_ACTIONS = ['dynamodb:GetItem', 'dynamodb:PutItem'] as const;

/** Attempts of one update when other containers keep winning the compare-and-set. */
const MAX_ATTEMPTS = 25;

function unavailable(cause: unknown): AppError<'wallet_budget_unavailable'> {
  return new AppError('wallet_budget_unavailable', 'the wallet budget could not be read or updated', {
    httpStatus: 503,
    cause,
  });
}

/**
 * The cloud wallet-budget store. AgentCore runs one microVM per session, so the sessions spending
 * one wallet live in different containers: each wallet's ledger is one item (`pk`, `version`,
 * `ledger`), replaced with `PutItem` only if its `version` is still the one read (optimistic
 * concurrency). Two containers that both read the last of the cap cannot both write: the second
 * one's condition fails, it re-reads, and its reservation is then refused.
 *
 * Table: partition key `pk` (S), nothing else. Operations: GetItem (consistent), PutItem.
 *
 * @example
 * const store = createDynamoDbWalletBudgetStore({ client: new DynamoDBClient({}), tableName });
 */
export function createDynamoDbWalletBudgetStore(options: {
  client: DynamoDBClient;
  tableName: string;
}): WalletBudgetStore {
  const { client, tableName } = options;

  async function load(walletKey: string): Promise<{ version: number; ledger: BudgetLedger }> {
    let item: GetItemCommandOutput;
    try {
      item = await client.send(
        new GetItemCommand({ TableName: tableName, Key: { pk: { S: walletKey } }, ConsistentRead: true }),
      );
    } catch (error) {
      throw unavailable(error);
    }
    if (!item.Item) return { version: 0, ledger: { entries: [] } };
    const version = Number(item.Item.version?.N);
    let parsed: ReturnType<typeof BudgetLedger.safeParse> | undefined;
    try {
      parsed = BudgetLedger.safeParse(JSON.parse(item.Item.ledger?.S ?? ''));
    } catch {
      parsed = undefined;
    }
    // A ledger that does not parse is never reset: that would lift the cap.
    if (!Number.isSafeInteger(version) || !parsed?.success) {
      throw unavailable(new Error(`corrupt wallet budget item ${walletKey}`));
    }
    return { version, ledger: parsed.data };
  }

  return {
    kind: 'dynamodb',
    read: async (walletKey) => (await load(walletKey)).ledger,
    async update(walletKey, change) {
      for (let attempt = 1; ; attempt++) {
        const { version, ledger } = await load(walletKey);
        const { ledger: next, result } = change(ledger);
        if (!next) return result;
        try {
          await client.send(
            new PutItemCommand({
              TableName: tableName,
              Item: {
                pk: { S: walletKey },
                version: { N: String(version + 1) },
                ledger: { S: JSON.stringify(next) },
              },
              ...(version === 0
                ? { ConditionExpression: 'attribute_not_exists(pk)' }
                : {
                    ConditionExpression: '#version = :version',
                    ExpressionAttributeNames: { '#version': 'version' },
                    ExpressionAttributeValues: { ':version': { N: String(version) } },
                  }),
            }),
          );
          return result;
        } catch (error) {
          if (!(error instanceof ConditionalCheckFailedException)) throw unavailable(error);
          if (attempt >= MAX_ATTEMPTS) throw unavailable(error);
          // Another container wrote first: back off a little (jittered) and decide again on its ledger.
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
        }
      }
    },
  };
}
