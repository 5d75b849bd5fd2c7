import { hashTypedData, recoverTypedDataAddress, verifyTypedData } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import {
  type Authorization,
  authorizationFromWire,
  authorizationToWire,
  CANCEL_AUTHORIZATION_TYPES,
  cancelAuthorizationTypedData,
  createAuthorizationNonce,
  RECEIVE_WITH_AUTHORIZATION_TYPES,
  receiveWithAuthorizationTypedData,
  TRANSFER_WITH_AUTHORIZATION_TYPES,
  transferWithAuthorizationTypedData,
} from './eip712.ts';
import { NETWORKS } from './networks.ts';
import { buildAuthorization, SELLER } from './test-builders.ts';

const payer = privateKeyToAccount(generatePrivateKey());
const usdc = NETWORKS['base-sepolia'].usdcAddress;

function buildBigintAuthorization(overrides: Partial<Authorization> = {}): Authorization {
  return {
    from: payer.address,
    to: SELLER,
    value: 40_000n,
    validAfter: 0n,
    validBefore: 1_900_000_000n,
    nonce: createAuthorizationNonce(),
    ...overrides,
  };
}

describe('EIP-3009 type definitions', () => {
  it('match the EIP-3009 struct layouts', () => {
    const fields = ['from', 'to', 'value', 'validAfter', 'validBefore', 'nonce'];
    expect(TRANSFER_WITH_AUTHORIZATION_TYPES.TransferWithAuthorization.map((f) => f.name)).toStrictEqual(
      fields,
    );
    expect(RECEIVE_WITH_AUTHORIZATION_TYPES.ReceiveWithAuthorization.map((f) => f.name)).toStrictEqual(
      fields,
    );
    expect(CANCEL_AUTHORIZATION_TYPES.CancelAuthorization).toStrictEqual([
      { name: 'authorizer', type: 'address' },
      { name: 'nonce', type: 'bytes32' },
    ]);
  });
});

describe('transferWithAuthorizationTypedData', () => {
  it('uses the USDC domain (name USDC, version 2) by default', () => {
    const typedData = transferWithAuthorizationTypedData({
      chainId: 84532,
      verifyingContract: usdc,
      authorization: buildBigintAuthorization(),
    });
    expect(typedData.domain).toStrictEqual({
      name: 'USDC',
      version: '2',
      chainId: 84532,
      verifyingContract: usdc,
    });
    expect(typedData.primaryType).toBe('TransferWithAuthorization');
  });

  it('signs with viem and verifies for the signer', async () => {
    const typedData = transferWithAuthorizationTypedData({
      chainId: 84532,
      verifyingContract: usdc,
      authorization: buildBigintAuthorization(),
    });
    const signature = await payer.signTypedData(typedData);
    expect(await verifyTypedData({ ...typedData, address: payer.address, signature })).toBe(true);
  });

  describe('when anything signed changes', () => {
    it.each([
      ['the chain id', { chainId: 8453 }],
      ['the token contract', { verifyingContract: NETWORKS.base.usdcAddress }],
      ['the domain name', { name: 'USD Coin' }],
      ['the domain version', { version: '1' }],
    ])('no longer verifies after changing %s', async (_, change) => {
      const authorization = buildBigintAuthorization();
      const base = { chainId: 84532, verifyingContract: usdc, authorization };
      const signature = await payer.signTypedData(transferWithAuthorizationTypedData(base));
      const altered = transferWithAuthorizationTypedData({ ...base, ...change });
      expect(await verifyTypedData({ ...altered, address: payer.address, signature })).toBe(false);
    });

    it('recovers a different signer after changing the amount', async () => {
      const authorization = buildBigintAuthorization();
      const signature = await payer.signTypedData(
        transferWithAuthorizationTypedData({ chainId: 84532, verifyingContract: usdc, authorization }),
      );
      const altered = transferWithAuthorizationTypedData({
        chainId: 84532,
        verifyingContract: usdc,
        authorization: { ...authorization, value: 40_001n },
      });
      expect(await recoverTypedDataAddress({ ...altered, signature })).not.toBe(payer.address);
    });
  });

  it('normalises address case, so lowercase wire addresses hash the same', () => {
    const authorization = buildBigintAuthorization();
    const lower = { ...authorization, from: authorization.from.toLowerCase() as `0x${string}` };
    const a = transferWithAuthorizationTypedData({ chainId: 84532, verifyingContract: usdc, authorization });
    const b = transferWithAuthorizationTypedData({
      chainId: 84532,
      verifyingContract: usdc.toLowerCase() as `0x${string}`,
      authorization: lower,
    });
    expect(hashTypedData(b)).toBe(hashTypedData(a));
  });
});

describe('receiveWithAuthorizationTypedData / cancelAuthorizationTypedData', () => {
  it('sign and verify, and differ from a transfer over the same fields', async () => {
    const authorization = buildBigintAuthorization();
    const parameters = { chainId: 84532, verifyingContract: usdc, authorization };
    const receive = receiveWithAuthorizationTypedData(parameters);
    const signature = await payer.signTypedData(receive);
    expect(await verifyTypedData({ ...receive, address: payer.address, signature })).toBe(true);
    expect(hashTypedData(receive)).not.toBe(hashTypedData(transferWithAuthorizationTypedData(parameters)));

    const cancel = cancelAuthorizationTypedData({
      chainId: 84532,
      verifyingContract: usdc,
      authorizer: payer.address,
      nonce: authorization.nonce,
    });
    const cancelSignature = await payer.signTypedData(cancel);
    expect(await verifyTypedData({ ...cancel, address: payer.address, signature: cancelSignature })).toBe(
      true,
    );
  });
});

describe('authorizationFromWire / authorizationToWire', () => {
  it('convert between decimal strings and bigints without loss', () => {
    const wire = buildAuthorization({ value: (2n ** 255n).toString(), validBefore: '18446744073709551616' });
    const parsed = authorizationFromWire(wire);
    expect(parsed.value).toBe(2n ** 255n);
    expect(parsed.validBefore).toBe(2n ** 64n);
    expect(authorizationToWire(parsed)).toStrictEqual(wire);
  });

  it('rejects a malformed wire authorization with invalid_authorization', () => {
    expect(() => authorizationFromWire(buildAuthorization({ value: '1.5' }))).toThrow(
      expect.objectContaining({ code: 'invalid_authorization' }),
    );
    expect(() => authorizationFromWire({ ...buildAuthorization(), extra: 1 } as never)).toThrow(
      expect.objectContaining({ code: 'invalid_authorization' }),
    );
  });

  it('rejects negative or non-bigint values when going to the wire', () => {
    expect(() => authorizationToWire(buildBigintAuthorization({ value: -1n }))).toThrow(
      expect.objectContaining({ code: 'invalid_authorization' }),
    );
    expect(() => authorizationToWire(buildBigintAuthorization({ value: 1 as unknown as bigint }))).toThrow(
      expect.objectContaining({ code: 'invalid_authorization' }),
    );
  });
});

describe('createAuthorizationNonce', () => {
  it('returns distinct 32-byte hex values', () => {
    const nonces = new Set(Array.from({ length: 50 }, () => createAuthorizationNonce()));
    expect(nonces.size).toBe(50);
    for (const nonce of nonces) expect(nonce).toMatch(/^0x[0-9a-f]{64}$/);
  });
});
