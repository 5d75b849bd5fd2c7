/**
 * Shared harness of the reliability suite: a private devnet per test file (anvil on a free port, a
 * temporary state directory), the real facilitator, gateways on one shared dynalite, signed x402
 * payments, on-chain transfer counts and a cuttable loopback TCP proxy. Loopback only.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Devnet, type DevnetAccount, startDevnet } from '@agentic-payments/devnet';
import {
  createMemoryLogger as createFacilitatorLogger,
  type RunningFacilitator,
  startFacilitator,
} from '@agentic-payments/facilitator';
import {
  createMemoryLogger,
  type LocalDynamo,
  type RunningGateway,
  type StartGatewayOptions,
  startGateway,
  startLocalDynamo,
} from '@agentic-payments/gateway';
import {
  authorizationToWire,
  createAuthorizationNonce,
  encodeHeader,
  getNetwork,
  transferWithAuthorizationTypedData,
} from '@agentic-payments/x402';
import { type Address, type Hex, parseAbiItem } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';

export const network = getNetwork('devnet');
export const TRANSFER = parseAbiItem(
  'event Transfer(address indexed from, address indexed to, uint256 value)',
);
export const AUTHORIZATION_USED = parseAbiItem(
  'event AuthorizationUsed(address indexed authorizer, bytes32 indexed nonce)',
);
/** Price of the default purchase (1024x1024 standard). */
export const PRICE = 40_000n;

export type Cleanup = () => Promise<void> | void;

export function tempDir(prefix: string): { dir: string; remove: Cleanup } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function bootDevnet(): Promise<Devnet> {
  return startDevnet({ port: 0, quiet: true });
}

export async function bootFacilitator(rpcUrl: string, settlerKey: Hex): Promise<RunningFacilitator> {
  return startFacilitator({
    rpcUrl,
    privateKey: settlerKey,
    network: 'devnet',
    port: 0,
    receiptTimeoutMs: 8_000,
    logger: createFacilitatorLogger(),
  });
}

export async function bootDynamo(dataDir: string): Promise<LocalDynamo> {
  return startLocalDynamo({ dataDir, port: 0 });
}

export type TestGateway = RunningGateway & { logger: ReturnType<typeof createMemoryLogger> };

export async function bootGateway(
  options: Pick<StartGatewayOptions, 'sellerAddress' | 'facilitatorUrl' | 'dataDir'> &
    Partial<StartGatewayOptions>,
): Promise<TestGateway> {
  const logger = createMemoryLogger();
  const running = await startGateway({
    port: 0,
    network: 'devnet',
    imageUrlSecret: 'reliability-suite-image-url-secret',
    logger,
    ...options,
  });
  return { ...running, logger };
}

export interface SignedPayment {
  header: string;
  nonce: Hex;
}

/** A real EIP-3009 authorization by `payer` for `seller`, wrapped as an x402 v2 header. */
export async function signPayment(
  payer: DevnetAccount,
  seller: Address,
  overrides: { value?: bigint; validBefore?: bigint; nonce?: Hex } = {},
): Promise<SignedPayment> {
  const now = BigInt(Math.floor(Date.now() / 1000));
  const value = overrides.value ?? PRICE;
  const nonce = overrides.nonce ?? createAuthorizationNonce();
  const authorization = {
    from: payer.address,
    to: seller,
    value,
    validAfter: now - 600n,
    validBefore: overrides.validBefore ?? now + 600n,
    nonce,
  };
  const signature = await privateKeyToAccount(payer.privateKey).signTypedData(
    transferWithAuthorizationTypedData({
      chainId: network.chainId,
      verifyingContract: network.usdcAddress,
      authorization,
    }),
  );
  const header = encodeHeader({
    x402Version: 2,
    accepted: {
      scheme: 'exact',
      network: network.caip2,
      amount: value.toString(),
      asset: network.usdcAddress,
      payTo: seller,
      maxTimeoutSeconds: 300,
      extra: { name: 'USDC', version: '2', chainId: network.chainId },
    },
    payload: { signature, authorization: authorizationToWire(authorization) },
  });
  return { header, nonce };
}

export interface PostResult {
  status: number;
  body: Record<string, unknown>;
}

export async function buy(
  gatewayUrl: string,
  body: Record<string, unknown>,
  header?: string,
  timeoutMs = 20_000,
): Promise<PostResult> {
  const response = await fetch(`${gatewayUrl}/generate_image`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(header ? { 'payment-signature': header } : {}) },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    parsed = { raw: text };
  }
  return { status: response.status, body: parsed };
}

/** USDC transfers from `from` to `to` on chain since genesis. */
export async function transfersBetween(devnet: Devnet, from: Address, to: Address) {
  return devnet.publicClient.getLogs({
    address: devnet.usdcAddress,
    event: TRANSFER,
    args: { from, to },
    fromBlock: 0n,
  });
}

export async function authorizationsUsed(devnet: Devnet, authorizer: Address) {
  return devnet.publicClient.getLogs({
    address: devnet.usdcAddress,
    event: AUTHORIZATION_USED,
    args: { authorizer },
    fromBlock: 0n,
  });
}

export async function fundedPayer(devnet: Devnet, usdc = 1_000_000n): Promise<DevnetAccount> {
  const [payer] = await devnet.fundPayers(1, usdc, 10n ** 17n);
  if (payer === undefined) throw new Error('no payer');
  return payer;
}

/** A fresh seller address (no key needed: it only receives). */
export async function freshSeller(devnet: Devnet): Promise<Address> {
  const [seller] = await devnet.fundPayers(1, 0n, 0n);
  if (seller === undefined) throw new Error('no seller');
  return seller.address;
}

/**
 * A loopback TCP proxy in front of a service that can be cut (every live connection destroyed and
 * new ones refused) and restored, to take an RPC or the facilitator "down" mid-flight.
 */
export interface TcpProxy {
  url: string;
  cut(): void;
  restore(): void;
  stop(): Promise<void>;
}

export async function startTcpProxy(targetUrl: string): Promise<TcpProxy> {
  const target = new URL(targetUrl);
  const sockets = new Set<Socket>();
  let down = false;
  const { connect } = await import('node:net');
  const server: Server = createServer((client) => {
    if (down) {
      client.destroy();
      return;
    }
    const upstream = connect(Number(target.port), target.hostname);
    sockets.add(client);
    sockets.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
    upstream.on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no proxy address');
  return {
    url: `http://127.0.0.1:${address.port}`,
    cut() {
      down = true;
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    },
    restore() {
      down = false;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** What the programmable facilitator proxy does with the next calls of one path. */
export type ProxyMode =
  | { kind: 'pass' }
  | { kind: 'down' }
  | { kind: 'slow'; delayMs: number }
  | { kind: 'garbage'; status: number; body: string }
  /** Forward to the facilitator (the settlement happens) but answer the gateway with garbage. */
  | { kind: 'forward-then-garbage' }
  /** Hold the request until `releaseHeld()`; then forward it (or drop it when `forward` is false). */
  | { kind: 'hold' };

export interface FacilitatorProxy {
  url: string;
  set(path: '/verify' | '/settle', mode: ProxyMode): void;
  readonly calls: { verify: number; settle: number };
  /** Resolves once a request is held on `path`. */
  waitHeld(path: '/verify' | '/settle', timeoutMs?: number): Promise<void>;
  /** Lets every held request go: forwarded to the facilitator, or dropped (never sent). */
  releaseHeld(forward: boolean): Promise<void>;
  stop(): Promise<void>;
}

/** An HTTP proxy in front of the real facilitator that can be down, slow, hold or answer garbage. */
export async function startFacilitatorProxy(facilitatorUrl: string): Promise<FacilitatorProxy> {
  const { createServer: createHttpServer } = await import('node:http');
  const modes: Record<string, ProxyMode> = { '/verify': { kind: 'pass' }, '/settle': { kind: 'pass' } };
  const calls = { verify: 0, settle: 0 };
  const held: Array<{ path: string; forward: () => Promise<void>; drop: () => void }> = [];
  const heldWaiters: Array<{ path: string; resolve: () => void }> = [];
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      if (path === '/verify') calls.verify += 1;
      if (path === '/settle') calls.settle += 1;
      const mode = modes[path] ?? { kind: 'pass' };
      const upstream = async () => {
        const response = await fetch(`${facilitatorUrl}${req.url ?? '/'}`, {
          method: req.method ?? 'GET',
          headers: { 'content-type': 'application/json' },
          ...(req.method === 'POST' ? { body: Buffer.concat(chunks) } : {}),
        });
        return { status: response.status, text: await response.text() };
      };
      const pass = async () => {
        try {
          const r = await upstream();
          res.writeHead(r.status, { 'content-type': 'application/json' }).end(r.text);
        } catch {
          res.destroy();
        }
      };
      switch (mode.kind) {
        case 'pass':
          void pass();
          return;
        case 'down':
          res.destroy();
          return;
        case 'slow':
          setTimeout(() => void pass(), mode.delayMs);
          return;
        case 'garbage':
          res.writeHead(mode.status, { 'content-type': 'application/json' }).end(mode.body);
          return;
        case 'forward-then-garbage':
          void upstream()
            .catch(() => undefined)
            .then(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"success":"maybe"'));
          return;
        case 'hold': {
          held.push({ path, forward: pass, drop: () => res.destroy() });
          for (const waiter of heldWaiters.splice(0)) {
            if (waiter.path === path) waiter.resolve();
            else heldWaiters.push(waiter);
          }
          return;
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no proxy address');
  return {
    url: `http://127.0.0.1:${address.port}`,
    calls,
    set(path, mode) {
      modes[path] = mode;
    },
    waitHeld(path, timeoutMs = 20_000) {
      if (held.some((h) => h.path === path)) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`nothing held on ${path}`)), timeoutMs);
        heldWaiters.push({
          path,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
      });
    },
    async releaseHeld(forward) {
      const all = held.splice(0);
      if (forward) await Promise.all(all.map((h) => h.forward()));
      else for (const h of all) h.drop();
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const h of held.splice(0)) h.drop();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
