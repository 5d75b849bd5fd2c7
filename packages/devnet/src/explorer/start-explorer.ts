import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { createPublicClient, http } from 'viem';
import { devnetChain } from '../chain.ts';
import { USDC_ADDRESS } from '../constants.ts';
import { createExplorerApp } from './create-explorer-app.ts';

export interface StartExplorerOptions {
  rpcUrl: string;
  /** 0 picks a free port. */
  port: number;
  host?: string;
}

export interface Explorer {
  url: string;
  stop(): Promise<void>;
}

/**
 * Serves the devnet explorer over HTTP.
 *
 * @example
 * const explorer = await startExplorer({ rpcUrl: devnet.rpcUrl, port: 0 });
 * console.log(`${explorer.url}/tx/${hash}`);
 */
export function startExplorer({ rpcUrl, port, host = '127.0.0.1' }: StartExplorerOptions): Promise<Explorer> {
  const publicClient = createPublicClient({
    chain: devnetChain(rpcUrl),
    transport: http(rpcUrl, { retryCount: 0 }),
  });
  const app = createExplorerApp({ publicClient, usdcAddress: USDC_ADDRESS });
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, port, hostname: host }, (info: AddressInfo) => {
      server.off('error', reject);
      resolve({
        url: `http://${host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host}:${info.port}`,
        stop: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            if ('closeAllConnections' in server) server.closeAllConnections();
          }),
      });
    });
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(`explorer: port ${port} on ${host} is already in use`)
          : error,
      ),
    );
  });
}
