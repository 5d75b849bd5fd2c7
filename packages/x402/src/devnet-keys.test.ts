import { bytesToHex } from 'viem';
import { generatePrivateKey, mnemonicToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import {
  assertKeyAllowed,
  DEVNET_KEY_COUNT,
  DEVNET_MNEMONIC,
  isDevnetKey,
  isLoopbackRpcUrl,
} from './devnet-keys.ts';
import { isAppError } from './errors.ts';

// anvil's published account #0 key, the most common one to leak into a config by mistake.
const ANVIL_KEY_0 = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';

function keyAt(addressIndex: number): string {
  const privateKey = mnemonicToAccount(DEVNET_MNEMONIC, { addressIndex }).getHdKey().privateKey;
  if (!privateKey) throw new Error('no private key derived');
  return bytesToHex(privateKey);
}

describe('DEVNET_MNEMONIC', () => {
  it("is anvil's well-known mnemonic", () => {
    expect(DEVNET_MNEMONIC).toBe('test test test test test test test test test test test junk');
    expect(keyAt(0)).toBe(ANVIL_KEY_0);
  });
});

describe('isDevnetKey', () => {
  it('recognises the first 20 devnet accounts', () => {
    expect(DEVNET_KEY_COUNT).toBe(20);
    expect(isDevnetKey(ANVIL_KEY_0)).toBe(true);
    expect(isDevnetKey(keyAt(1))).toBe(true);
    expect(isDevnetKey(keyAt(19))).toBe(true);
  });

  it('accepts any letter case, with or without 0x', () => {
    expect(isDevnetKey(ANVIL_KEY_0.toUpperCase().replace('0X', '0x'))).toBe(true);
    expect(isDevnetKey(ANVIL_KEY_0.slice(2))).toBe(true);
  });

  it('does not flag other keys', () => {
    expect(isDevnetKey(keyAt(20))).toBe(false);
    expect(isDevnetKey(generatePrivateKey())).toBe(false);
    expect(isDevnetKey('')).toBe(false);
    expect(isDevnetKey('0x1234')).toBe(false);
    expect(isDevnetKey(undefined as unknown as string)).toBe(false);
  });
});

describe('isLoopbackRpcUrl', () => {
  it.each([
    'http://127.0.0.1:8545',
    'http://localhost:8545',
    'http://LOCALHOST:8545/',
    'http://[::1]:8545',
    'http://127.5.6.7',
    'http://127.1:8545',
    'http://2130706433:8545',
    'ws://localhost:8545',
    'https://127.0.0.1',
  ])('treats %s as loopback', (url) => {
    expect(isLoopbackRpcUrl(url)).toBe(true);
  });

  it.each([
    'https://sepolia.base.org',
    'http://10.0.0.1:8545',
    'http://0.0.0.0:8545',
    'http://128.0.0.1',
    'http://127.0.0.1.evil.example',
    'http://localhost.evil.example',
    'http://evil.example#@127.0.0.1',
    'http://127.0.0.1@evil.example',
    'http://[::ffff:127.0.0.1]',
    'http://[::2]',
    'file:///tmp/anvil.ipc',
    'not a url',
    '',
  ])('does not treat %j as loopback', (url) => {
    expect(isLoopbackRpcUrl(url)).toBe(false);
  });
});

describe('assertKeyAllowed', () => {
  describe('with a devnet key', () => {
    it('allows a loopback RPC', () => {
      expect(() =>
        assertKeyAllowed({ privateKey: ANVIL_KEY_0, rpcUrl: 'http://127.0.0.1:8545' }),
      ).not.toThrow();
      expect(() =>
        assertKeyAllowed({ privateKey: keyAt(3), rpcUrl: 'http://localhost:54321' }),
      ).not.toThrow();
    });

    it('refuses Base Sepolia even though the chain id is the same', () => {
      expect(() => assertKeyAllowed({ privateKey: ANVIL_KEY_0, rpcUrl: 'https://sepolia.base.org' })).toThrow(
        expect.objectContaining({ code: 'devnet_key_refused', httpStatus: 400 }),
      );
    });

    it('never echoes the key or the URL path (it may hold an API key)', () => {
      try {
        assertKeyAllowed({
          privateKey: ANVIL_KEY_0,
          rpcUrl: 'https://base-sepolia.g.alchemy.com/v2/SECRETKEY',
        });
        expect.unreachable('should have thrown');
      } catch (error) {
        expect(isAppError(error) && error.code).toBe('devnet_key_refused');
        const text = `${String(error)} ${JSON.stringify(error)}`;
        expect(text).not.toContain('SECRETKEY');
        expect(text).not.toContain(ANVIL_KEY_0.slice(2));
        expect(text).toContain('base-sepolia.g.alchemy.com');
      }
    });

    it('refuses an unparsable RPC URL', () => {
      expect(() => assertKeyAllowed({ privateKey: ANVIL_KEY_0, rpcUrl: 'nope' })).toThrow(
        expect.objectContaining({ code: 'devnet_key_refused' }),
      );
    });
  });

  describe('with any other key', () => {
    it('allows every RPC', () => {
      const privateKey = generatePrivateKey();
      expect(() => assertKeyAllowed({ privateKey, rpcUrl: 'https://sepolia.base.org' })).not.toThrow();
      expect(() => assertKeyAllowed({ privateKey, rpcUrl: 'http://127.0.0.1:8545' })).not.toThrow();
    });
  });
});
