import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createWalletClient, http } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEVNET_ACCOUNTS } from './accounts.ts';
import { batchSettlementAbi, batchSettlementDeployedBytecode } from './artifacts/batchSettlement.ts';
import { erc3009DepositCollectorDeployedBytecode } from './artifacts/erc3009DepositCollector.ts';
import { multicall3Abi } from './artifacts/multicall3.ts';
import { usdcAbi } from './artifacts/usdc.ts';
import { devnetChain } from './chain.ts';
import { openDevnetChannel } from './channels.ts';
import {
  BATCH_SETTLEMENT_ADDRESS,
  ERC3009_DEPOSIT_COLLECTOR_ADDRESS,
  MULTICALL3_ADDRESS,
  USDC_ADDRESS,
} from './constants.ts';
import { connectDevnet } from './devnet-client.ts';
import { DevnetError } from './errors.ts';
import { type Devnet, startDevnet } from './start-devnet.ts';

describe('startDevnet', () => {
  let dataDir: string;
  let devnet: Devnet;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'devnet-test-'));
    devnet = await startDevnet({ dataDir, port: 0, quiet: true });
  });
  afterAll(async () => {
    await devnet?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('is ready in under 5 s on a loopback port with chain id 84532', async () => {
    expect(devnet.startMs).toBeLessThan(5_000);
    expect(devnet.initialised).toBe(true);
    expect(devnet.rpcUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await devnet.publicClient.getChainId()).toBe(84532);
  });

  it('has USDC at the Base Sepolia address, owned by the deployer, with the USDC/2 EIP-712 domain', async () => {
    const read = (functionName: 'name' | 'symbol' | 'version') =>
      devnet.publicClient.readContract({ address: USDC_ADDRESS, abi: usdcAbi, functionName });
    expect([await read('name'), await read('symbol'), await read('version')]).toStrictEqual([
      'USDC',
      'USDC',
      '2',
    ]);
    expect(
      await devnet.publicClient.readContract({
        address: USDC_ADDRESS,
        abi: usdcAbi,
        functionName: 'decimals',
      }),
    ).toBe(6);
    expect(
      await devnet.publicClient.readContract({ address: USDC_ADDRESS, abi: usdcAbi, functionName: 'owner' }),
    ).toBe(DEVNET_ACCOUNTS.deployer.address);
    const [, name, version, chainId, verifyingContract] = await devnet.publicClient.readContract({
      address: USDC_ADDRESS,
      abi: usdcAbi,
      functionName: 'eip712Domain',
    });
    expect({ name, version, chainId, verifyingContract }).toStrictEqual({
      name: 'USDC',
      version: '2',
      chainId: 84532n,
      verifyingContract: USDC_ADDRESS,
    });
  });

  it('funds the roles per docs/CONVENTIONS.md', async () => {
    const { deployer, agent, settler, seller } = devnet.accounts;
    expect(await devnet.usdcBalance(agent.address)).toBe(10_000_000n);
    expect(await devnet.ethBalance(agent.address)).toBe(10n ** 18n);
    expect(await devnet.ethBalance(settler.address)).toBe(10_000n * 10n ** 18n);
    expect(await devnet.ethBalance(seller.address)).toBe(0n);
    expect(await devnet.usdcBalance(seller.address)).toBe(0n);
    expect(await devnet.ethBalance(deployer.address)).toBeGreaterThan(9_999n * 10n ** 18n);
  });

  it('answers Multicall3 calls at the canonical address (as viem and @x402/evm use it)', async () => {
    const results = await devnet.publicClient.multicall({
      contracts: [
        {
          address: USDC_ADDRESS,
          abi: usdcAbi,
          functionName: 'balanceOf',
          args: [devnet.accounts.agent.address],
        },
        { address: USDC_ADDRESS, abi: usdcAbi, functionName: 'name' },
      ],
    });
    expect(results).toStrictEqual([
      { status: 'success', result: 10_000_000n },
      { status: 'success', result: 'USDC' },
    ]);
    const { result: tried } = await devnet.publicClient.simulateContract({
      address: MULTICALL3_ADDRESS,
      abi: multicall3Abi,
      functionName: 'tryAggregate',
      args: [false, [{ target: USDC_ADDRESS, callData: '0xdeadbeef' }]],
    });
    expect(tried).toStrictEqual([{ success: false, returnData: '0x' }]);
  });

  it('fundPayers gives fresh accounts from HD index 10 the requested USDC and ETH', async () => {
    const payers = await devnet.fundPayers(3, 2_500_000n, 10n ** 16n);
    expect(payers[0]).toStrictEqual(devnet.payer(0));
    expect(payers[0]?.address).toBe('0xBcd4042DE499D14e55001CcbB24a551F3b954096'); // anvil's account 10
    for (const payer of payers) {
      expect(await devnet.usdcBalance(payer.address)).toBe(2_500_000n);
      expect(await devnet.ethBalance(payer.address)).toBe(10n ** 16n);
    }
    const next = await devnet.fundPayers(1, 1n);
    expect(next[0]).toStrictEqual(devnet.payer(3));
  });

  it('connectDevnet works from another client and hands out different payers', async () => {
    const remote = connectDevnet({ rpcUrl: devnet.rpcUrl });
    const [payer] = await remote.fundPayers(1, 7n);
    if (!payer) throw new Error('no payer');
    expect(payer.address).not.toBe(devnet.payer(0).address);
    expect(await devnet.usdcBalance(payer.address)).toBe(7n);
  });

  it('lands concurrent mints from several clients (anvil nonce races are absorbed)', async () => {
    const remote = connectDevnet({ rpcUrl: devnet.rpcUrl });
    const target = devnet.payer(700).address;
    const [payers] = await Promise.all([
      remote.fundPayers(3, 11n),
      ...Array.from({ length: 8 }, () => devnet.mintUsdc(target, 5n)),
      ...Array.from({ length: 4 }, () => remote.mintUsdc(target, 1n)),
    ]);
    expect(await devnet.usdcBalance(target)).toBe(44n);
    for (const payer of payers) expect(await devnet.usdcBalance(payer.address)).toBe(11n);
  });

  it('reports a missing anvil binary in one clear line', async () => {
    const previous = process.env.ANVIL_BINARY;
    process.env.ANVIL_BINARY = '/nonexistent/anvil';
    try {
      await expect(startDevnet({ quiet: true })).rejects.toMatchObject({
        code: 'anvil_binary_missing',
        message: 'devnet: ANVIL_BINARY=/nonexistent/anvil does not exist',
      });
    } finally {
      if (previous === undefined) delete process.env.ANVIL_BINARY;
      else process.env.ANVIL_BINARY = previous;
    }
  });

  it('rejects nonsense funding requests before touching the chain', async () => {
    await expect(devnet.fundPayers(0, 1n)).rejects.toThrow(RangeError);
    await expect(devnet.fundPayers(1, -1n)).rejects.toThrow(RangeError);
    await expect(devnet.mintUsdc(devnet.accounts.seller.address, 0n)).rejects.toThrow(RangeError);
  });

  it('refuses a non-loopback RPC', () => {
    expect(() => connectDevnet({ rpcUrl: 'https://sepolia.base.org' })).toThrow(DevnetError);
  });

  it('reports a busy port in one clear line', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const address = blocker.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    try {
      await expect(startDevnet({ port, quiet: true })).rejects.toMatchObject({
        code: 'port_in_use',
        message: `devnet: port ${port} on 127.0.0.1 is already in use`,
      });
    } finally {
      blocker.close();
    }
  });

  it('keeps balances across a restart of the same data dir', async () => {
    const wallet = createWalletClient({
      chain: devnetChain(devnet.rpcUrl),
      transport: http(devnet.rpcUrl),
      account: privateKeyToAccount(devnet.accounts.agent.privateKey),
    });
    const before = await devnet.usdcBalance(devnet.accounts.agent.address);
    const hash = await wallet.writeContract({
      address: USDC_ADDRESS,
      abi: usdcAbi,
      functionName: 'transfer',
      args: [devnet.accounts.seller.address, 1_234_567n],
    });
    await devnet.publicClient.waitForTransactionReceipt({ hash });
    await devnet.stop();

    devnet = await startDevnet({ dataDir, port: 0, quiet: true });
    expect(devnet.initialised).toBe(false);
    expect(devnet.startMs).toBeLessThan(5_000);
    expect(await devnet.usdcBalance(devnet.accounts.agent.address)).toBe(before - 1_234_567n);
    expect(await devnet.usdcBalance(devnet.accounts.seller.address)).toBe(1_234_567n);
    expect(await devnet.ethBalance(devnet.payer(0).address)).toBe(10n ** 16n);
    // history survives too, so explorer links made before the restart keep working
    expect((await devnet.publicClient.getTransactionReceipt({ hash })).status).toBe('success');
  });

  it('after a kill -9 restarts from the last periodic dump (state interval 1 s)', async () => {
    await devnet.mintUsdc(devnet.accounts.seller.address, 4_321n);
    const expected = await devnet.usdcBalance(devnet.accounts.seller.address);
    await new Promise((resolve) => setTimeout(resolve, 2_200)); // > one --state-interval
    const pid = devnet.anvilPid;
    if (pid === undefined) throw new Error('anvil has no pid');
    process.kill(pid, 'SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 200));
    await devnet.stop(); // cleans up; anvil is already gone

    devnet = await startDevnet({ dataDir, port: 0, quiet: true });
    expect(devnet.initialised).toBe(false);
    expect(await devnet.usdcBalance(devnet.accounts.seller.address)).toBe(expected);
  });

  it('installs the batch-settlement contracts at their addresses on every start, keeping channel state', async () => {
    expect(await devnet.publicClient.getCode({ address: BATCH_SETTLEMENT_ADDRESS })).toBe(
      batchSettlementDeployedBytecode,
    );
    expect(await devnet.publicClient.getCode({ address: ERC3009_DEPOSIT_COLLECTOR_ADDRESS })).toBe(
      erc3009DepositCollectorDeployedBytecode,
    );
    const [payer] = await devnet.fundPayers(1, 250_000n);
    if (!payer) throw new Error('no payer');
    const { channelId } = await openDevnetChannel(devnet, {
      payer,
      receiverAuthorizer: devnet.accounts.settler.address,
      amount: 250_000n,
    });
    // A state saved without the contracts (older data dir): their code is gone, their storage stays.
    for (const address of [BATCH_SETTLEMENT_ADDRESS, ERC3009_DEPOSIT_COLLECTOR_ADDRESS]) {
      await devnet.publicClient.request({
        method: 'anvil_setCode' as never,
        params: [address, '0x'] as never,
      });
    }
    await devnet.stop();

    devnet = await startDevnet({ dataDir, port: 0, quiet: true });
    expect(devnet.initialised).toBe(false);
    expect(await devnet.publicClient.getCode({ address: BATCH_SETTLEMENT_ADDRESS })).toBe(
      batchSettlementDeployedBytecode,
    );
    expect(await devnet.publicClient.getCode({ address: ERC3009_DEPOSIT_COLLECTOR_ADDRESS })).toBe(
      erc3009DepositCollectorDeployedBytecode,
    );
    expect(
      await devnet.publicClient.readContract({
        address: BATCH_SETTLEMENT_ADDRESS,
        abi: batchSettlementAbi,
        functionName: 'channels',
        args: [channelId],
      }),
    ).toStrictEqual([250_000n, 0n]);
  });
});

describe('startDevnet with a damaged state file', () => {
  it('moves the broken file aside and restores the state saved at the previous start', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'devnet-test-'));
    const seller = DEVNET_ACCOUNTS.seller.address;
    try {
      const first = await startDevnet({ dataDir, quiet: true });
      await first.mintUsdc(seller, 111n);
      await first.stop();
      const second = await startDevnet({ dataDir, quiet: true }); // backs up the good file
      await second.mintUsdc(seller, 222n);
      await second.stop();
      const statePath = join(dataDir, 'devnet', 'state.json');
      writeFileSync(statePath, readFileSync(statePath, 'utf8').slice(0, 100)); // a dump cut short

      const lines: string[] = [];
      const third = await startDevnet({ dataDir, log: (line) => lines.push(line) });
      try {
        expect(third.initialised).toBe(false);
        expect(await third.usdcBalance(seller)).toBe(111n); // as saved when the second start began
        expect(lines[0]).toMatch(/did not parse \(moved to .*state\.corrupt-.*\.json\); restored the state/);
      } finally {
        await third.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
