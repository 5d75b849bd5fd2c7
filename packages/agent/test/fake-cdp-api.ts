import { createPublicKey, generateKeyPairSync, type KeyObject, verify } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';

/** Credentials in the formats the CDP SDK accepts: an Ed25519 API key and an EC P-256 wallet secret. */
export interface FakeCdpCredentials {
  apiKeyId: string;
  apiKeySecret: string;
  walletSecret: string;
}

interface FakeAccount {
  address: `0x${string}`;
  name: string;
  privateKey: Hex;
  createdAt: string;
}

export interface FakeCdpApi {
  /** Base path to give the SDK (`CDP_API_URL` / `basePath`), like https://api.cdp.coinbase.com/platform. */
  url: string;
  credentials: FakeCdpCredentials;
  accounts: FakeAccount[];
  /** `METHOD /path` of every request, in order. */
  calls: string[];
  /** Requests held back until {@link FakeCdpApi.release} (to observe a slow CDP). */
  hold(): void;
  release(): void;
  close(): Promise<void>;
}

function newCredentials(): FakeCdpCredentials & { apiPublicKey: KeyObject; walletPublicKey: KeyObject } {
  const api = generateKeyPairSync('ed25519');
  const jwk = api.privateKey.export({ format: 'jwk' });
  const seed = Buffer.from(jwk.d ?? '', 'base64url');
  const pub = Buffer.from(jwk.x ?? '', 'base64url');
  const wallet = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return {
    apiKeyId: 'organizations/test-org/apiKeys/test-key',
    apiKeySecret: Buffer.concat([seed, pub]).toString('base64'),
    walletSecret: wallet.privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
    apiPublicKey: createPublicKey(api.privateKey),
    walletPublicKey: createPublicKey(wallet.privateKey),
  };
}

/** Verifies a compact JWT's signature and returns its claims, or a reason it is refused. */
function verifyJwt(token: string, key: KeyObject, alg: 'EdDSA' | 'ES256'): Record<string, unknown> | string {
  const [header, payload, signature] = token.split('.');
  if (!header || !payload || !signature) return 'not a compact JWT';
  const head = JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as { alg?: string };
  if (head.alg !== alg) return `alg ${head.alg} is not ${alg}`;
  const data = Buffer.from(`${header}.${payload}`);
  const sig = Buffer.from(signature, 'base64url');
  const ok =
    alg === 'EdDSA'
      ? verify(null, data, key, sig)
      : verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, sig);
  if (!ok) return 'bad signature';
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
  const now = Math.floor(Date.now() / 1000);
  if (typeof claims.exp === 'number' && claims.exp < now) return 'expired';
  return claims;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9-]{0,34}[A-Za-z0-9]$/;

/** EIP-712 message values arrive as JSON (the SDK turns bigints into strings); viem wants bigints. */
function coerceIntegers(
  types: Record<string, { name: string; type: string }[]>,
  primaryType: string,
  message: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...message };
  for (const field of types[primaryType] ?? []) {
    const value = out[field.name];
    if (/^u?int\d*$/.test(field.type) && (typeof value === 'string' || typeof value === 'number')) {
      out[field.name] = BigInt(value);
    }
  }
  return out;
}

/**
 * TEST ONLY: a local stand-in for the Coinbase Developer Platform v2 EVM account endpoints the CDP
 * SDK calls for the agent's wallet (get by name, create, get by address, sign typed data), over
 * HTTP with the SDK's own auth: every request must carry a Bearer JWT signed by the API key
 * (EdDSA, `sub` = key id, `uris` = this method, host and path); writes must also carry an
 * X-Wallet-Auth JWT signed by the wallet secret (ES256). Errors use CDP's `{errorType, errorMessage}`
 * body: 404 for an unknown account, 409 for a name that is taken, 400 for a bad name, 401 otherwise.
 * Accounts sign with real secp256k1 keys, so signatures recover to the account address.
 */
export async function startFakeCdpApi(): Promise<FakeCdpApi> {
  const creds = newCredentials();
  const accounts: FakeAccount[] = [];
  const calls: string[] = [];
  let held: (() => void)[] | undefined;

  const publicAccount = (a: FakeAccount) => ({
    address: a.address,
    name: a.name,
    policies: [],
    createdAt: a.createdAt,
    updatedAt: a.createdAt,
  });

  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const reply = (status: number, body: unknown) =>
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      const fail = (status: number, errorType: string, errorMessage: string) =>
        reply(status, { errorType, errorMessage, correlationId: 'fake-cdp' });
      const handle = () => {
        const method = req.method ?? 'GET';
        const path = new URL(req.url ?? '/', 'http://fake').pathname;
        calls.push(`${method} ${path}`);
        const uri = `${method} ${req.headers.host}${path}`;

        const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
        const claims = bearer ? verifyJwt(bearer, creds.apiPublicKey, 'EdDSA') : 'no Bearer token';
        if (typeof claims === 'string') return fail(401, 'unauthorized', `API key JWT refused: ${claims}`);
        const uris = claims.uris as string[] | undefined;
        if (claims.sub !== creds.apiKeyId || claims.iss !== 'cdp' || !uris?.includes(uri)) {
          return fail(401, 'unauthorized', 'API key JWT is not for this key or request');
        }
        if (method !== 'GET') {
          const walletAuth = req.headers['x-wallet-auth'];
          const walletClaims =
            typeof walletAuth === 'string'
              ? verifyJwt(walletAuth, creds.walletPublicKey, 'ES256')
              : 'no X-Wallet-Auth';
          if (
            typeof walletClaims === 'string' ||
            !(walletClaims.uris as string[] | undefined)?.includes(uri)
          ) {
            return fail(401, 'unauthorized', 'wallet auth refused');
          }
        }
        const body = chunks.length
          ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>)
          : {};

        const base = '/platform/v2/evm/accounts';
        const byName = new RegExp(`^${base}/by-name/([^/]+)$`).exec(path);
        const byAddress = new RegExp(`^${base}/(0x[0-9a-fA-F]{40})$`).exec(path);
        const sign = new RegExp(`^${base}/(0x[0-9a-fA-F]{40})/sign/typed-data$`).exec(path);
        const find = (address: string) =>
          accounts.find((a) => a.address.toLowerCase() === address.toLowerCase());

        if (method === 'GET' && byName) {
          const account = accounts.find((a) => a.name === decodeURIComponent(byName[1] ?? ''));
          return account
            ? reply(200, publicAccount(account))
            : fail(404, 'not_found', 'EVM account with the given name not found.');
        }
        if (method === 'GET' && byAddress) {
          const account = find(byAddress[1] ?? '');
          return account
            ? reply(200, publicAccount(account))
            : fail(404, 'not_found', 'EVM account with the given address not found.');
        }
        if (method === 'POST' && path === base) {
          const name = body.name;
          if (typeof name !== 'string' || !NAME.test(name)) {
            return fail(400, 'invalid_request', 'name must be 2-36 alphanumeric characters and hyphens');
          }
          if (accounts.some((a) => a.name === name)) {
            return fail(409, 'already_exists', 'EVM account with the given name already exists.');
          }
          const privateKey = generatePrivateKey();
          const account: FakeAccount = {
            address: privateKeyToAccount(privateKey).address,
            name,
            privateKey,
            createdAt: new Date().toISOString(),
          };
          accounts.push(account);
          return reply(201, publicAccount(account));
        }
        if (method === 'POST' && sign) {
          const account = find(sign[1] ?? '');
          if (!account) return fail(404, 'not_found', 'EVM account with the given address not found.');
          const { EIP712Domain: _domain, ...types } = body.types as Record<
            string,
            { name: string; type: string }[]
          >;
          const primaryType = String(body.primaryType);
          void privateKeyToAccount(account.privateKey)
            .signTypedData({
              domain: body.domain as Record<string, never>,
              types,
              primaryType,
              message: coerceIntegers(types, primaryType, body.message as Record<string, unknown>),
            })
            .then(
              (signature) => reply(200, { signature }),
              (error: Error) => fail(400, 'invalid_request', error.message),
            );
          return;
        }
        return fail(404, 'not_found', `no fake route ${method} ${path}`);
      };
      if (held) held.push(handle);
      else handle();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/platform`,
    credentials: {
      apiKeyId: creds.apiKeyId,
      apiKeySecret: creds.apiKeySecret,
      walletSecret: creds.walletSecret,
    },
    accounts,
    calls,
    hold: () => {
      held ??= [];
    },
    release: () => {
      const waiting = held ?? [];
      held = undefined;
      for (const handle of waiting) handle();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
