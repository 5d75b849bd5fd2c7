/**
 * The explorer against the devnet the package's vitest globalSetup provides (`inject('devnet')`),
 * rendering a real EIP-3009 payment transaction.
 */
import { createWalletClient, type Hash, type Hex, http, keccak256, toHex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { DevnetAccount } from '../accounts.ts';
import { usdcAbi } from '../artifacts/usdc.ts';
import { devnetChain } from '../chain.ts';
import { USDC_ADDRESS } from '../constants.ts';
import { connectDevnet, type DevnetClient } from '../devnet-client.ts';

const provided = inject('devnet');
let devnet: DevnetClient;
let payer: DevnetAccount;
let hash: Hash;
let nonce: Hex;

const get = (path: string) => fetch(`${provided.explorerUrl}${path}`);

beforeAll(async () => {
  devnet = connectDevnet(provided);
  [payer] = (await devnet.fundPayers(1, 1_000_000n)) as [DevnetAccount];
  nonce = keccak256(toHex(`explorer.test ${payer.address}`));
  const authorization = {
    from: payer.address,
    to: provided.accounts.seller.address,
    value: 40_000n,
    validAfter: 0n,
    validBefore: BigInt(Math.floor(Date.now() / 1000) + 600),
    nonce,
  };
  const signature = await privateKeyToAccount(payer.privateKey).signTypedData({
    domain: {
      name: 'USDC',
      version: '2',
      chainId: provided.chainId,
      verifyingContract: provided.usdcAddress,
    },
    types: {
      TransferWithAuthorization: [
        { name: 'from', type: 'address' },
        { name: 'to', type: 'address' },
        { name: 'value', type: 'uint256' },
        { name: 'validAfter', type: 'uint256' },
        { name: 'validBefore', type: 'uint256' },
        { name: 'nonce', type: 'bytes32' },
      ],
    },
    primaryType: 'TransferWithAuthorization',
    message: authorization,
  });
  const settler = createWalletClient({
    chain: devnetChain(provided.rpcUrl),
    transport: http(provided.rpcUrl),
    account: privateKeyToAccount(provided.accounts.settler.privateKey),
  });
  hash = await settler.writeContract({
    address: USDC_ADDRESS,
    abi: usdcAbi,
    functionName: 'transferWithAuthorization',
    args: [
      authorization.from,
      authorization.to,
      authorization.value,
      authorization.validAfter,
      authorization.validBefore,
      authorization.nonce,
      signature,
    ],
  });
  await devnet.publicClient.waitForTransactionReceipt({ hash });
});

describe('explorer', () => {
  it('is provided by the global setup with the devnet facts', () => {
    expect(provided).toMatchObject({ chainId: 84532, usdcAddress: USDC_ADDRESS });
    expect(provided.explorerUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  describe('GET /tx/{hash}', () => {
    it('renders status, block, gas, from/to, the USDC transfer and the EIP-3009 nonce', async () => {
      const receipt = await devnet.publicClient.getTransactionReceipt({ hash });
      const response = await get(`/tx/${hash}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/text\/html/);
      const page = await response.text();
      expect(page).toContain(hash);
      expect(page).toContain('Success');
      expect(page).toContain(`<td>${receipt.blockNumber}</td>`);
      expect(page).toContain(`<td>${receipt.gasUsed}</td>`);
      expect(page).toContain(provided.accounts.settler.address); // tx sender
      expect(page).toContain('USDC.transferWithAuthorization');
      expect(page).toContain(payer.address);
      expect(page).toContain(provided.accounts.seller.address);
      expect(page).toContain('0.040000 USDC');
      expect(page).toContain('AuthorizationUsed');
      expect(page).toContain(nonce);
      // The same display name as the chat, the demo and the start banner.
      expect(page).toContain('Local devnet — Base Sepolia stand-in (chain 84532) · DEVNET ONLY');
    });

    it('has a JSON twin at /api/tx/{hash}', async () => {
      const receipt = await devnet.publicClient.getTransactionReceipt({ hash });
      const response = await get(`/api/tx/${hash}`);
      expect(response.status).toBe(200);
      const body = (await response.json()) as Record<string, unknown>;
      expect(body).toMatchObject({
        hash,
        status: 'success',
        blockNumber: receipt.blockNumber.toString(),
        gasUsed: receipt.gasUsed.toString(),
        from: provided.accounts.settler.address,
        to: USDC_ADDRESS,
        usdcFunction: 'transferWithAuthorization',
        usdcTransfers: [
          {
            from: payer.address,
            to: provided.accounts.seller.address,
            atomic: '40000',
            amount: '0.040000',
            transactionHash: hash,
            blockNumber: receipt.blockNumber.toString(),
          },
        ],
        authorizations: [{ kind: 'used', authorizer: payer.address, nonce }],
      });
    });

    it('answers 404 for an unknown hash and 400 for a malformed one', async () => {
      const unknown = `0x${'ab'.repeat(32)}`;
      const missing = await get(`/tx/${unknown}`);
      expect(missing.status).toBe(404);
      expect(await missing.text()).toContain('Not found');
      expect(await (await get(`/api/tx/${unknown}`)).json()).toStrictEqual({
        error: 'tx_not_found',
        message: `no transaction ${unknown}`,
      });
      expect((await get('/tx/0x1234')).status).toBe(400);
      const bad = await get('/api/tx/not-a-hash');
      expect(bad.status).toBe(400);
      expect(await bad.json()).toStrictEqual({ error: 'invalid_tx_hash', message: 'not a 32-byte 0x hash' });
    });
  });

  describe('GET /address/{address}', () => {
    it('shows ETH and USDC balances and recent USDC transfers', async () => {
      const response = await get(`/address/${payer.address.toLowerCase()}`);
      expect(response.status).toBe(200);
      const page = await response.text();
      expect(page).toContain(payer.address);
      expect(page).toContain('0 ETH');
      expect(page).toContain('0.960000 USDC'); // 1.00 minted - 0.04 paid
      expect(page).toContain(hash); // the payment
      expect(page).toContain('1.000000 USDC'); // the mint
    });

    it('has a JSON twin and rejects malformed addresses with 400', async () => {
      const body = (await (await get(`/api/address/${payer.address}`)).json()) as Record<string, unknown>;
      expect(body).toMatchObject({
        address: payer.address,
        ethWei: '0',
        usdcAtomic: '960000',
        isContract: false,
      });
      expect((await get('/address/0xnothex')).status).toBe(400);
      const bad = await get('/api/address/12345');
      expect(bad.status).toBe(400);
      expect(await bad.json()).toStrictEqual({
        error: 'invalid_address',
        message: 'not a 20-byte 0x address',
      });
    });
  });

  it('lists the latest blocks and transactions on /', async () => {
    const response = await get('/');
    expect(response.status).toBe(200);
    const page = await response.text();
    expect(page).toContain('Latest transactions');
    expect(page).toContain(USDC_ADDRESS);
  });

  it('escapes what it echoes back', async () => {
    const response = await get('/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E');
    expect(response.status).toBe(400);
    const page = await response.text();
    expect(page).not.toContain('<script>');
  });
});
