import { pbkdf2Sync } from 'node:crypto';
import { type Address, type Hex, toHex } from 'viem';
import { HDKey, hdKeyToAccount } from 'viem/accounts';
import { DEVNET_MNEMONIC } from './constants.ts';

/** A devnet key pair. DEVNET ONLY: these keys are public knowledge. */
export interface DevnetAccount {
  address: Address;
  privateKey: Hex;
}

let master: HDKey | undefined;

/** BIP-39 seed (PBKDF2-HMAC-SHA512, 2048 rounds, salt "mnemonic"), done once with node:crypto. */
function masterKey(): HDKey {
  master ??= HDKey.fromMasterSeed(
    pbkdf2Sync(DEVNET_MNEMONIC.normalize('NFKD'), 'mnemonic', 2048, 64, 'sha512'),
  );
  return master;
}

/** The account at `m/44'/60'/0'/0/{index}` of the devnet mnemonic (anvil's derivation path). */
export function deriveDevnetAccount(index: number): DevnetAccount {
  if (!Number.isSafeInteger(index) || index < 0 || index >= 2 ** 31) {
    throw new RangeError(`devnet account index must be an integer in [0, 2^31), got ${index}`);
  }
  const account = hdKeyToAccount(masterKey(), { addressIndex: index });
  const privateKey = account.getHdKey().privateKey;
  if (!privateKey) throw new Error(`no private key derived for index ${index}`);
  return { address: account.address, privateKey: toHex(privateKey) };
}

/** Named devnet roles (docs/CONVENTIONS.md): HD indexes 0-3 of {@link DEVNET_MNEMONIC}. */
export interface DevnetAccounts {
  deployer: DevnetAccount;
  agent: DevnetAccount;
  settler: DevnetAccount;
  seller: DevnetAccount;
}

export const DEVNET_ACCOUNTS: DevnetAccounts = Object.freeze({
  deployer: deriveDevnetAccount(0),
  agent: deriveDevnetAccount(1),
  settler: deriveDevnetAccount(2),
  seller: deriveDevnetAccount(3),
});
