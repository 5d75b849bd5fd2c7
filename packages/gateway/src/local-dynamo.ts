import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import dynalite from 'dynalite';

export interface LocalDynamo {
  /** `http://127.0.0.1:<port>`, for `DynamoDBClient({ endpoint })`. */
  readonly endpoint: string;
  stop(): Promise<void>;
}

/**
 * The embedded DynamoDB stand-in: dynalite (an implementation of the DynamoDB API on LevelDB) kept
 * under `<dataDir>/payments`, so reservations survive a restart. One process owns the LevelDB
 * directory; other gateway instances share it through the returned endpoint.
 *
 * @example
 * const dynamo = await startLocalDynamo({ dataDir: '.data', port: 0 });
 */
export async function startLocalDynamo(options: {
  readonly dataDir?: string;
  readonly port?: number;
  readonly host?: string;
}): Promise<LocalDynamo> {
  let path: string | undefined;
  if (options.dataDir !== undefined) {
    path = join(options.dataDir, 'payments');
    mkdirSync(path, { recursive: true });
  }
  const server = dynalite({ path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://${host}:${port}`,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error?: Error) => (error ? reject(error) : resolve()));
      }),
  };
}
