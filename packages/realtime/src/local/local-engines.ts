/// <reference path="./vendor.d.ts" />
import { mkdir } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient, ResourceInUseException } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import S3rver from 's3rver';

/** Credentials the local engines accept; s3rver verifies signatures made with exactly these. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;
export const LOCAL_REGION = 'us-east-1';

export interface LocalEngine {
  endpoint: string;
  stop(): Promise<void>;
}

async function closeServer(server: Server): Promise<void> {
  // SDK clients keep sockets alive; without this, close() waits for them to time out.
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/**
 * dynalite (an in-process DynamoDB engine) persisted under `directory`, with the connections table
 * created if missing. dynalite has no TTL, which the connection store's read-side check covers.
 */
export async function startLocalConnectionsTable(options: {
  directory: string;
  tableName: string;
}): Promise<LocalEngine> {
  await mkdir(options.directory, { recursive: true });
  const server = dynalite({ path: options.directory, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  try {
    await client.send(
      new CreateTableCommand({
        TableName: options.tableName,
        AttributeDefinitions: [{ AttributeName: 'connectionId', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'connectionId', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) {
      await closeServer(server);
      throw error;
    }
  } finally {
    client.destroy();
  }
  return { endpoint, stop: () => closeServer(server) };
}

/**
 * s3rver (an in-process S3 engine) storing objects under `directory`. It verifies SigV4 signatures
 * made with LOCAL_CREDENTIALS, so presigned URLs are real, expiring S3 URLs.
 */
export async function startLocalS3(options: { directory: string; bucket: string }): Promise<LocalEngine> {
  await mkdir(options.directory, { recursive: true });
  const s3rver = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: options.directory,
    vhostBuckets: false,
    configureBuckets: [{ name: options.bucket, configs: [] }],
  });
  const { port } = await s3rver.run();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    async stop() {
      if (s3rver.httpServer) await closeServer(s3rver.httpServer);
    },
  };
}
