import { describe, expect, it } from 'vitest';
import {
  DEFAULT_DEVNET_EXPLORER_URL,
  explorerAddressUrl,
  explorerTxUrl,
  getNetwork,
  isSupportedNetwork,
  NETWORKS,
  networkDisplayName,
  toCaip2,
  toV1Network,
} from './networks.ts';
import { USDC_DECIMALS, USDC_EIP712_DOMAIN, usdcAddress, usdcEip712Domain } from './usdc.ts';

const HASH = `0x${'ab'.repeat(32)}`;

describe('NETWORKS', () => {
  it('describes Base Sepolia', () => {
    expect(NETWORKS['base-sepolia']).toStrictEqual({
      id: 'base-sepolia',
      displayName: 'Base Sepolia testnet (chain 84532)',
      v1Name: 'base-sepolia',
      caip2: 'eip155:84532',
      chainId: 84532,
      usdcAddress: '0x036CbD53842c5426634e7929541eC2318f3dCF7e',
      explorerUrl: 'https://sepolia.basescan.org',
      testnet: true,
      local: false,
    });
  });

  it('describes Base mainnet', () => {
    expect(NETWORKS.base).toMatchObject({
      v1Name: 'base',
      caip2: 'eip155:8453',
      chainId: 8453,
      usdcAddress: '0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913',
      explorerUrl: 'https://basescan.org',
      testnet: false,
    });
  });

  it('makes the devnet a Base Sepolia stand-in: same chain id, USDC address and wire names', () => {
    const devnet = NETWORKS.devnet;
    const sepolia = NETWORKS['base-sepolia'];
    expect([devnet.chainId, devnet.usdcAddress, devnet.v1Name, devnet.caip2]).toStrictEqual([
      sepolia.chainId,
      sepolia.usdcAddress,
      sepolia.v1Name,
      sepolia.caip2,
    ]);
    expect(devnet.explorerUrl).toBe('http://127.0.0.1:4000');
    expect(devnet.displayName).toBe('Local devnet — Base Sepolia stand-in (chain 84532)');
    expect(devnet.local).toBe(true);
  });

  it('names each network once for people, and the devnet as a stand-in', () => {
    expect(networkDisplayName('devnet')).toBe('Local devnet — Base Sepolia stand-in (chain 84532)');
    expect(networkDisplayName('base-sepolia', { local: true })).toBe(
      'Local devnet — Base Sepolia stand-in (chain 84532)',
    );
    expect(networkDisplayName('eip155:84532')).toBe('Base Sepolia testnet (chain 84532)');
    expect(networkDisplayName('base', { local: true })).toBe('Base mainnet (chain 8453)');
    expect(networkDisplayName('solana')).toBe('solana');
  });

  it('is frozen', () => {
    expect(Object.isFrozen(NETWORKS)).toBe(true);
    expect(Object.isFrozen(NETWORKS.base)).toBe(true);
  });
});

describe('getNetwork', () => {
  it.each([
    ['base-sepolia', 'base-sepolia'],
    ['eip155:84532', 'base-sepolia'],
    ['base', 'base'],
    ['eip155:8453', 'base'],
    ['devnet', 'devnet'],
  ])('resolves %s to %s', (input, id) => {
    expect(getNetwork(input).id).toBe(id);
  });

  it('passes a NetworkInfo through', () => {
    expect(getNetwork(NETWORKS.devnet)).toBe(NETWORKS.devnet);
  });

  it.each(['ethereum', 'eip155:1', 'BASE', '', 'toString', '__proto__', 'constructor'])(
    'throws unsupported_network for %j',
    (input) => {
      expect(() => getNetwork(input)).toThrow(
        expect.objectContaining({ code: 'unsupported_network', httpStatus: 400 }),
      );
      expect(isSupportedNetwork(input)).toBe(false);
    },
  );
});

describe('toCaip2 / toV1Network', () => {
  it('converts both ways', () => {
    expect(toCaip2('base-sepolia')).toBe('eip155:84532');
    expect(toCaip2('base')).toBe('eip155:8453');
    expect(toCaip2('eip155:8453')).toBe('eip155:8453');
    expect(toCaip2('devnet')).toBe('eip155:84532');
    expect(toV1Network('eip155:84532')).toBe('base-sepolia');
    expect(toV1Network('eip155:8453')).toBe('base');
    expect(toV1Network('devnet')).toBe('base-sepolia');
  });
});

describe('explorerTxUrl', () => {
  it('links to BaseScan for the public networks', () => {
    expect(explorerTxUrl('base-sepolia', HASH)).toBe(`https://sepolia.basescan.org/tx/${HASH}`);
    expect(explorerTxUrl('eip155:8453', HASH)).toBe(`https://basescan.org/tx/${HASH}`);
  });

  it('links to the devnet explorer, whose address is configurable', () => {
    expect(explorerTxUrl('devnet', HASH)).toBe(`${DEFAULT_DEVNET_EXPLORER_URL}/tx/${HASH}`);
    expect(explorerTxUrl('devnet', HASH, 'http://127.0.0.1:54321/')).toBe(
      `http://127.0.0.1:54321/tx/${HASH}`,
    );
  });

  it('refuses a malformed hash', () => {
    expect(() => explorerTxUrl('base', '0x1234')).toThrow(
      expect.objectContaining({ code: 'invalid_tx_hash' }),
    );
    expect(() => explorerTxUrl('base', `${HASH}/../x`)).toThrow(
      expect.objectContaining({ code: 'invalid_tx_hash' }),
    );
  });

  it('links to address pages', () => {
    const address = '0x90F79bf6EB2c4f870365E785982E1f101E93b906';
    expect(explorerAddressUrl('base', address)).toBe(`https://basescan.org/address/${address}`);
    expect(() => explorerAddressUrl('base', '0x12')).toThrow(
      expect.objectContaining({ code: 'invalid_address' }),
    );
  });
});

describe('USDC constants', () => {
  it('has 6 decimals and the FiatTokenV2 EIP-712 domain', () => {
    expect(USDC_DECIMALS).toBe(6);
    expect(USDC_EIP712_DOMAIN).toStrictEqual({ name: 'USDC', version: '2' });
  });

  it('knows the USDC address per network', () => {
    expect(usdcAddress('base-sepolia')).toBe('0x036CbD53842c5426634e7929541eC2318f3dCF7e');
    expect(usdcAddress('eip155:8453')).toBe('0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913');
    expect(usdcAddress('devnet')).toBe('0x036CbD53842c5426634e7929541eC2318f3dCF7e');
    expect(() => usdcAddress('solana')).toThrow(expect.objectContaining({ code: 'unsupported_network' }));
  });

  it('builds the full domain for a network', () => {
    expect(usdcEip712Domain('devnet')).toStrictEqual({
      name: 'USDC',
      version: '2',
      chainId: 84532,
      verifyingContract: '0x036CbD53842c5426634e7929541eC2318f3dCF7e',
    });
  });
});
