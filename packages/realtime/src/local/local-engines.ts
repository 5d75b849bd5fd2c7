/// <reference path="./vendor.d.ts" />

import { timingSafeEqual } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type AttributeValue,
  CreateTableCommand,
  DeleteItemCommand,
  DynamoDBClient,
  ResourceInUseException,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
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
 * Turn records (`turn#<session>`) left by a previous run are removed: the local worker runs inside
 * the host, so a host that is starting runs no turn, and a turn cut off by Ctrl-C must not hold its
 * session until the lease runs out.
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
  let created = false;
  try {
    await client.send(
      new CreateTableCommand({
        TableName: options.tableName,
        AttributeDefinitions: [{ AttributeName: 'connectionId', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'connectionId', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    created = true;
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) {
      client.destroy();
      await closeServer(server);
      throw error;
    }
  }
  try {
    // A table created just now holds nothing (and dynalite may still report it as CREATING).
    let startKey: Record<string, AttributeValue> | undefined;
    while (!created) {
      const page = await client.send(
        new ScanCommand({
          TableName: options.tableName,
          FilterExpression: 'begins_with(connectionId, :turn)',
          ExpressionAttributeValues: { ':turn': { S: 'turn#' } },
          ProjectionExpression: 'connectionId',
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) {
        if (item.connectionId) {
          await client.send(
            new DeleteItemCommand({ TableName: options.tableName, Key: { connectionId: item.connectionId } }),
          );
        }
      }
      startKey = page.LastEvaluatedKey;
      if (!startKey) break;
    }
  } finally {
    client.destroy();
  }
  return { endpoint, stop: () => closeServer(server) };
}

/**
 * s3rver (an in-process S3 engine) storing objects under `directory`. s3rver checks a presigned
 * URL's validity window but does not recompute SigV4 signatures, so a check in front of it does:
 * every request carrying `X-Amz-Signature` must be a GET whose signature matches the one the SDK's
 * presigner computes for the same object, date and expiry. Presigned URLs are then real, signed,
 * expiring S3 URLs, tampering included.
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
  const endpoint = `http://127.0.0.1:${port}`;
  const server = s3rver.httpServer;
  if (!server) throw new Error('s3rver did not start an HTTP server');
  const presigner = new S3Client({
    endpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    forcePathStyle: true,
    // As the handlers' client (create-aws-deps.ts): these options change what gets signed.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const [s3rverListener] = server.listeners('request') as RequestListener[];
  if (!s3rverListener) throw new Error('s3rver has no request listener');
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    presignedRequestAllowed(req, endpoint, presigner).then(
      (allowed) => {
        if (allowed) s3rverListener.call(server, req, res);
        else signatureMismatch(res);
      },
      () => signatureMismatch(res),
    );
  });
  return {
    endpoint,
    async stop() {
      presigner.destroy();
      await closeServer(server);
    },
  };
}

/** True for requests without a query signature (s3rver checks those) and for valid presigned GETs. */
async function presignedRequestAllowed(
  req: IncomingMessage,
  endpoint: string,
  presigner: S3Client,
): Promise<boolean> {
  const url = new URL(req.url ?? '/', endpoint);
  const provided = url.searchParams.get('X-Amz-Signature');
  if (provided === null) return true;
  if (req.method !== 'GET') return false;
  const [, bucket, ...keyParts] = url.pathname.split('/');
  const date = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(
    url.searchParams.get('X-Amz-Date') ?? '',
  );
  const expiresIn = Number(url.searchParams.get('X-Amz-Expires'));
  if (!bucket || keyParts.length === 0 || !date || !Number.isInteger(expiresIn)) return false;
  const signingDate = new Date(
    Date.UTC(
      Number(date[1]),
      Number(date[2]) - 1,
      Number(date[3]),
      Number(date[4]),
      Number(date[5]),
      Number(date[6]),
    ),
  );
  const expected = new URL(
    await getSignedUrl(
      presigner,
      new GetObjectCommand({
        Bucket: decodeURIComponent(bucket),
        Key: keyParts.map(decodeURIComponent).join('/'),
      }),
      { expiresIn, signingDate },
    ),
  );
  // Extra or changed query parameters change what was signed.
  expected.searchParams.sort();
  url.searchParams.sort();
  const a = Buffer.from(expected.search);
  const b = Buffer.from(url.search);
  return a.length === b.length && timingSafeEqual(a, b);
}

function signatureMismatch(res: ServerResponse): void {
  res
    .writeHead(403, { 'content-type': 'application/xml' })
    .end(
      '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SignatureDoesNotMatch</Code>' +
        '<Message>The request signature we calculated does not match the signature you provided.</Message></Error>',
    );
}
