/**
 * The USDC contract (contracts/USDC.sol) on a real anvil, at Base Sepolia's USDC address: EIP-3009
 * behaviour per https://eips.ethereum.org/EIPS/eip-3009, checked with signatures made by viem.
 */
import {
  type Address,
  createWalletClient,
  domainSeparator,
  type Hex,
  http,
  keccak256,
  parseEventLogs,
  parseSignature,
  serializeSignature,
  toHex,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DevnetAccount } from './accounts.ts';
import { usdcAbi } from './artifacts/usdc.ts';
import { devnetChain } from './chain.ts';
import { USDC_ADDRESS } from './constants.ts';
import { type Devnet, startDevnet } from './start-devnet.ts';

const DOMAIN = { name: 'USDC', version: '2', chainId: 84532, verifyingContract: USDC_ADDRESS } as const;
const AUTH_FIELDS = [
  { name: 'from', type: 'address' },
  { name: 'to', type: 'address' },
  { name: 'value', type: 'uint256' },
  { name: 'validAfter', type: 'uint256' },
  { name: 'validBefore', type: 'uint256' },
  { name: 'nonce', type: 'bytes32' },
] as const;
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

interface Authorization {
  from: Address;
  to: Address;
  value: bigint;
  validAfter: bigint;
  validBefore: bigint;
  nonce: Hex;
}

let devnet: Devnet;
let payer: DevnetAccount;
let other: DevnetAccount;
let nonceCounter = 0;

const nextNonce = (): Hex => keccak256(toHex(`usdc.test nonce ${Date.now()} ${nonceCounter++}`));
const now = (): bigint => BigInt(Math.floor(Date.now() / 1000));

function buildAuthorization(overrides: Partial<Authorization> = {}): Authorization {
  return {
    from: payer.address,
    to: devnet.accounts.seller.address,
    value: 40_000n,
    validAfter: 0n,
    validBefore: now() + 600n,
    nonce: nextNonce(),
    ...overrides,
  };
}

function sign(
  signer: DevnetAccount,
  authorization: Authorization,
  primaryType: 'TransferWithAuthorization' | 'ReceiveWithAuthorization' = 'TransferWithAuthorization',
): Promise<Hex> {
  const account = privateKeyToAccount(signer.privateKey);
  return primaryType === 'TransferWithAuthorization'
    ? account.signTypedData({
        domain: DOMAIN,
        types: { TransferWithAuthorization: AUTH_FIELDS },
        primaryType,
        message: authorization,
      })
    : account.signTypedData({
        domain: DOMAIN,
        types: { ReceiveWithAuthorization: AUTH_FIELDS },
        primaryType,
        message: authorization,
      });
}

function vrs(signature: Hex): readonly [number, Hex, Hex] {
  const { r, s, v, yParity } = parseSignature(signature);
  return [Number(v ?? BigInt(yParity + 27)), r, s] as const;
}

const authArgs = (a: Authorization) => [a.from, a.to, a.value, a.validAfter, a.validBefore, a.nonce] as const;

/** The settler submits (any caller may submit transferWithAuthorization). */
function settlerWallet() {
  return createWalletClient({
    chain: devnetChain(devnet.rpcUrl),
    transport: http(devnet.rpcUrl),
    account: privateKeyToAccount(devnet.accounts.settler.privateKey),
  });
}

async function submitTransfer(authorization: Authorization, signature: Hex) {
  const hash = await settlerWallet().writeContract({
    address: USDC_ADDRESS,
    abi: usdcAbi,
    functionName: 'transferWithAuthorization',
    args: [...authArgs(authorization), ...vrs(signature)],
  });
  return devnet.publicClient.waitForTransactionReceipt({ hash });
}

/** eth_call of transferWithAuthorization (v,r,s) as the settler: resolves or rejects with the revert reason. */
function simulateTransfer(authorization: Authorization, signature: Hex) {
  return devnet.publicClient.simulateContract({
    account: devnet.accounts.settler.address,
    address: USDC_ADDRESS,
    abi: usdcAbi,
    functionName: 'transferWithAuthorization',
    args: [...authArgs(authorization), ...vrs(signature)],
  });
}

beforeAll(async () => {
  devnet = await startDevnet({ port: 0, quiet: true });
  [payer, other] = (await devnet.fundPayers(2, 1_000_000n)) as [DevnetAccount, DevnetAccount];
});
afterAll(() => devnet?.stop());

describe('USDC (EIP-3009 devnet contract)', () => {
  it('computes the EIP-712 domain separator for chain 84532 at the canonical address', async () => {
    const separator = await devnet.publicClient.readContract({
      address: USDC_ADDRESS,
      abi: usdcAbi,
      functionName: 'DOMAIN_SEPARATOR',
    });
    expect(separator).toBe(domainSeparator({ domain: DOMAIN }));
  });

  describe('transferWithAuthorization (v, r, s)', () => {
    it('moves exactly the value and emits Transfer and AuthorizationUsed with the nonce', async () => {
      const authorization = buildAuthorization({ value: 123_456n });
      const sellerBefore = await devnet.usdcBalance(authorization.to);
      const payerBefore = await devnet.usdcBalance(payer.address);
      const receipt = await submitTransfer(authorization, await sign(payer, authorization));
      expect(receipt.status).toBe('success');
      expect(await devnet.usdcBalance(authorization.to)).toBe(sellerBefore + 123_456n);
      expect(await devnet.usdcBalance(payer.address)).toBe(payerBefore - 123_456n);
      const events = parseEventLogs({ abi: usdcAbi, logs: receipt.logs }).map(({ eventName, args }) => ({
        eventName,
        args,
      }));
      expect(events).toStrictEqual([
        { eventName: 'AuthorizationUsed', args: { authorizer: payer.address, nonce: authorization.nonce } },
        { eventName: 'Transfer', args: { from: payer.address, to: authorization.to, value: 123_456n } },
      ]);
      expect(
        await devnet.publicClient.readContract({
          address: USDC_ADDRESS,
          abi: usdcAbi,
          functionName: 'authorizationState',
          args: [payer.address, authorization.nonce],
        }),
      ).toBe(true);
    });

    it('reverts a replayed nonce', async () => {
      const authorization = buildAuthorization();
      const signature = await sign(payer, authorization);
      expect((await submitTransfer(authorization, signature)).status).toBe('success');
      await expect(simulateTransfer(authorization, signature)).rejects.toThrow(
        /USDC: authorization is used or canceled/,
      );
    });

    it('reverts an expired authorization (validBefore has passed)', async () => {
      const authorization = buildAuthorization({ validBefore: now() - 5n });
      await expect(simulateTransfer(authorization, await sign(payer, authorization))).rejects.toThrow(
        /USDC: authorization is expired/,
      );
    });

    it('reverts an authorization that is not yet valid (validAfter in the future)', async () => {
      const authorization = buildAuthorization({ validAfter: now() + 3_600n });
      await expect(simulateTransfer(authorization, await sign(payer, authorization))).rejects.toThrow(
        /USDC: authorization is not yet valid/,
      );
    });

    it('reverts when someone other than `from` signed', async () => {
      const authorization = buildAuthorization();
      await expect(simulateTransfer(authorization, await sign(other, authorization))).rejects.toThrow(
        /USDC: invalid signature/,
      );
    });

    it('reverts when the signed amount differs from the submitted one', async () => {
      const authorization = buildAuthorization({ value: 1_000n });
      const signature = await sign(payer, authorization);
      await expect(simulateTransfer({ ...authorization, value: 2_000n }, signature)).rejects.toThrow(
        /USDC: invalid signature/,
      );
    });

    it('rejects a malleable high-s signature and a v outside {27, 28}', async () => {
      const authorization = buildAuthorization();
      const { r, s, yParity } = parseSignature(await sign(payer, authorization));
      const highS = toHex(SECP256K1_N - BigInt(s), { size: 32 });
      const flipped = serializeSignature({ r, s: highS, yParity: yParity === 0 ? 1 : 0 });
      await expect(simulateTransfer(authorization, flipped)).rejects.toThrow(/invalid signature 's' value/);
      await expect(
        devnet.publicClient.simulateContract({
          account: devnet.accounts.settler.address,
          address: USDC_ADDRESS,
          abi: usdcAbi,
          functionName: 'transferWithAuthorization',
          args: [...authArgs(authorization), yParity, r, s],
        }),
      ).rejects.toThrow(/invalid signature 'v' value/);
    });

    it('reverts when the payer lacks the balance', async () => {
      const authorization = buildAuthorization({ value: 10n ** 12n });
      await expect(simulateTransfer(authorization, await sign(payer, authorization))).rejects.toThrow(
        /USDC: transfer amount exceeds balance/,
      );
    });
  });

  describe('transferWithAuthorization (bytes signature)', () => {
    it('moves exactly the value with a 65-byte signature', async () => {
      const authorization = buildAuthorization({ value: 7_777n });
      const before = await devnet.usdcBalance(authorization.to);
      const hash = await settlerWallet().writeContract({
        address: USDC_ADDRESS,
        abi: usdcAbi,
        functionName: 'transferWithAuthorization',
        args: [...authArgs(authorization), await sign(payer, authorization)],
      });
      expect((await devnet.publicClient.waitForTransactionReceipt({ hash })).status).toBe('success');
      expect(await devnet.usdcBalance(authorization.to)).toBe(before + 7_777n);
    });

    it('accepts an EIP-1271 contract signer only when it returns the magic value', async () => {
      // Runtime code that answers every call with 0x1626ba7e (isValidSignature's magic value).
      const approving = '0x631626ba7e60e01b60005260206000f3';
      // Runtime code that answers every call with 32 zero bytes.
      const refusing = '0x60206000f3';
      const wallet = devnet.payer(500).address;
      await devnet.mintUsdc(wallet, 5_000n);
      await devnet.publicClient.request({
        method: 'anvil_setCode' as never,
        params: [wallet, refusing] as never,
      });
      const authorization = buildAuthorization({ from: wallet, value: 5_000n });
      const call = () =>
        devnet.publicClient.simulateContract({
          account: devnet.accounts.settler.address,
          address: USDC_ADDRESS,
          abi: usdcAbi,
          functionName: 'transferWithAuthorization',
          args: [...authArgs(authorization), '0x1234'],
        });
      await expect(call()).rejects.toThrow(/USDC: invalid signature/);
      await devnet.publicClient.request({
        method: 'anvil_setCode' as never,
        params: [wallet, approving] as never,
      });
      await expect(call()).resolves.toBeDefined();
    });
  });

  describe('cancelAuthorization', () => {
    it('marks the nonce used, emits AuthorizationCanceled, and the authorization can no longer be used', async () => {
      const authorization = buildAuthorization();
      const transferSignature = await sign(payer, authorization);
      const cancelSignature = await privateKeyToAccount(payer.privateKey).signTypedData({
        domain: DOMAIN,
        types: {
          CancelAuthorization: [
            { name: 'authorizer', type: 'address' },
            { name: 'nonce', type: 'bytes32' },
          ],
        },
        primaryType: 'CancelAuthorization',
        message: { authorizer: payer.address, nonce: authorization.nonce },
      });
      const hash = await settlerWallet().writeContract({
        address: USDC_ADDRESS,
        abi: usdcAbi,
        functionName: 'cancelAuthorization',
        args: [payer.address, authorization.nonce, ...vrs(cancelSignature)],
      });
      const receipt = await devnet.publicClient.waitForTransactionReceipt({ hash });
      expect(
        parseEventLogs({ abi: usdcAbi, logs: receipt.logs, eventName: 'AuthorizationCanceled' })[0]?.args,
      ).toStrictEqual({
        authorizer: payer.address,
        nonce: authorization.nonce,
      });
      await expect(simulateTransfer(authorization, transferSignature)).rejects.toThrow(
        /USDC: authorization is used or canceled/,
      );
    });

    it('reverts a cancellation signed by someone else', async () => {
      const nonce = nextNonce();
      const signature = await privateKeyToAccount(other.privateKey).signTypedData({
        domain: DOMAIN,
        types: {
          CancelAuthorization: [
            { name: 'authorizer', type: 'address' },
            { name: 'nonce', type: 'bytes32' },
          ],
        },
        primaryType: 'CancelAuthorization',
        message: { authorizer: payer.address, nonce },
      });
      await expect(
        devnet.publicClient.simulateContract({
          account: devnet.accounts.settler.address,
          address: USDC_ADDRESS,
          abi: usdcAbi,
          functionName: 'cancelAuthorization',
          args: [payer.address, nonce, signature],
        }),
      ).rejects.toThrow(/USDC: invalid signature/);
    });
  });

  describe('receiveWithAuthorization', () => {
    it('reverts when the caller is not the payee', async () => {
      const authorization = buildAuthorization();
      const signature = await sign(payer, authorization, 'ReceiveWithAuthorization');
      await expect(
        devnet.publicClient.simulateContract({
          account: devnet.accounts.settler.address,
          address: USDC_ADDRESS,
          abi: usdcAbi,
          functionName: 'receiveWithAuthorization',
          args: [...authArgs(authorization), ...vrs(signature)],
        }),
      ).rejects.toThrow(/USDC: caller must be the payee/);
    });

    it('moves the value when the payee calls it, and refuses a TransferWithAuthorization signature', async () => {
      const authorization = buildAuthorization({ to: other.address, value: 9_000n });
      await devnet.addEth(other.address, 10n ** 17n);
      const payee = createWalletClient({
        chain: devnetChain(devnet.rpcUrl),
        transport: http(devnet.rpcUrl),
        account: privateKeyToAccount(other.privateKey),
      });
      const wrongType = await sign(payer, authorization, 'TransferWithAuthorization');
      await expect(
        devnet.publicClient.simulateContract({
          account: other.address,
          address: USDC_ADDRESS,
          abi: usdcAbi,
          functionName: 'receiveWithAuthorization',
          args: [...authArgs(authorization), wrongType],
        }),
      ).rejects.toThrow(/USDC: invalid signature/);
      const before = await devnet.usdcBalance(other.address);
      const hash = await payee.writeContract({
        address: USDC_ADDRESS,
        abi: usdcAbi,
        functionName: 'receiveWithAuthorization',
        args: [...authArgs(authorization), await sign(payer, authorization, 'ReceiveWithAuthorization')],
      });
      expect((await devnet.publicClient.waitForTransactionReceipt({ hash })).status).toBe('success');
      expect(await devnet.usdcBalance(other.address)).toBe(before + 9_000n);
    });
  });

  describe('mint', () => {
    it('is owner-only', async () => {
      await expect(
        devnet.publicClient.simulateContract({
          account: other.address,
          address: USDC_ADDRESS,
          abi: usdcAbi,
          functionName: 'mint',
          args: [other.address, 1n],
        }),
      ).rejects.toThrow(/USDC: caller is not the owner/);
    });
  });
});
