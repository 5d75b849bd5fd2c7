import { pbkdf2Sync } from 'node:crypto';
import { isIP } from 'node:net';
import { bytesToHex } from 'viem';
import { HDKey } from 'viem/accounts';
import { AppError, X402_ERROR_CODES } from './errors.ts';

/**
 * anvil's well-known test mnemonic. Its keys are public: they fund the local devnet only, and
 * `assertKeyAllowed` refuses them for any RPC that is not on this machine.
 */
export const DEVNET_MNEMONIC = 'test test test test test test test test test test test junk';

/** How many accounts of the devnet mnemonic are treated as devnet keys. */
export const DEVNET_KEY_COUNT = 20;

/** BIP-44 path of Ethereum accounts, as anvil and viem's mnemonicToAccount derive them. */
const ETHEREUM_ACCOUNT_PATH = "m/44'/60'/0'/0";

let devnetKeys: ReadonlySet<string> | undefined;

// Derived once, on first use. viem's mnemonicToAccount re-runs the BIP-39 PBKDF2 (2048 rounds in
// JS) for every index; here the seed is computed once with native PBKDF2 and the 20 child keys are
// derived with viem's HDKey. The tests check the result against mnemonicToAccount.
function getDevnetKeys(): ReadonlySet<string> {
  if (!devnetKeys) {
    // BIP-39: seed = PBKDF2-HMAC-SHA512(NFKD(mnemonic), "mnemonic" + passphrase, 2048, 64 bytes).
    const seed = pbkdf2Sync(DEVNET_MNEMONIC.normalize('NFKD'), 'mnemonic', 2048, 64, 'sha512');
    const parent = HDKey.fromMasterSeed(seed).derive(ETHEREUM_ACCOUNT_PATH);
    const keys = new Set<string>();
    for (let index = 0; index < DEVNET_KEY_COUNT; index++) {
      const privateKey = parent.deriveChild(index).privateKey;
      if (privateKey) keys.add(bytesToHex(privateKey));
    }
    devnetKeys = keys;
  }
  return devnetKeys;
}

function normalizeKey(privateKey: string): string | undefined {
  const hex = privateKey.trim().toLowerCase();
  const prefixed = hex.startsWith('0x') ? hex : `0x${hex}`;
  return /^0x[0-9a-f]{64}$/.test(prefixed) ? prefixed : undefined;
}

/** True if `privateKey` is one of the first 20 accounts of the devnet mnemonic (any case, with or without 0x). */
export function isDevnetKey(privateKey: string): boolean {
  if (typeof privateKey !== 'string') return false;
  const key = normalizeKey(privateKey);
  return key !== undefined && getDevnetKeys().has(key);
}

/** True if the URL's host is loopback: `localhost`, 127.0.0.0/8 or `::1`. */
export function isLoopbackRpcUrl(rpcUrl: string): boolean {
  let url: URL;
  try {
    url = new URL(rpcUrl);
  } catch {
    return false;
  }
  if (!['http:', 'https:', 'ws:', 'wss:'].includes(url.protocol)) return false;
  // WHATWG URL canonicalises hosts: 127.1, 0x7f.1 and 2130706433 all become 127.0.0.1, [::1] stays.
  const host = url.hostname.toLowerCase();
  if (host === 'localhost') return true;
  if (host === '[::1]') return true;
  if (isIP(host) === 4) return host.split('.')[0] === '127';
  return false;
}

export interface AssertKeyAllowedParameters {
  privateKey: string;
  rpcUrl: string;
}

/**
 * Refuses a devnet key (AppError `devnet_key_refused`) unless the RPC is on this machine. The chain
 * id cannot decide this: the devnet uses Base Sepolia's chain id 84532 on purpose, so only the
 * RPC's host tells a local devnet from the real testnet.
 *
 * @example
 * assertKeyAllowed({ privateKey: env.WALLET_PRIVATE_KEY, rpcUrl: env.RPC_URL });
 */
export function assertKeyAllowed({ privateKey, rpcUrl }: AssertKeyAllowedParameters): void {
  if (!isDevnetKey(privateKey)) return;
  if (isLoopbackRpcUrl(rpcUrl)) return;
  let host = 'an unparsable URL';
  try {
    host = new URL(rpcUrl).host;
  } catch {
    // keep the placeholder; never echo the raw URL, it may embed an API key
  }
  throw new AppError(
    X402_ERROR_CODES.devnetKeyRefused,
    `refusing a well-known devnet key for the RPC at ${host}: devnet keys are public and only allowed on a loopback RPC (localhost, 127.0.0.0/8, ::1)`,
    { httpStatus: 400 },
  );
}
