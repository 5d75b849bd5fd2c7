/**
 * Gas per image from receipts on the devnet.
 * - exact: one `transferWithAuthorization` per image; the receipts of the 200s' settlement
 *   transactions from the paid table.
 * - batch-settlement: sessions of 25 images per channel, bought with the official client through
 *   `@x402/fetch` from our gateway (in this process, claims only when asked) and our facilitator:
 *   deposit (first request), 24 vouchers, one claim + settle pass, the client's cooperative refund.
 *   Every transaction mined during the session is summed (the bench's own chain: nothing else
 *   runs then). Once with one channel (what one session costs alone) and once with many channels
 *   claimed in the same pass (the claim and settle shared by all of them).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BATCH_SETTLEMENT_ADDRESS, type Devnet } from '@agentic-payments/devnet';
import { createJsonLogger as createFacilitatorLogger, startFacilitator } from '@agentic-payments/facilitator';
import { createJsonLogger as createGatewayLogger, startGateway } from '@agentic-payments/gateway';
import type { Hash } from 'viem';
import { batchPayingFetch, PRICE_ATOMIC, paidRequest } from './paid-requests.ts';
import { prerenderedImageGenerator } from './prerendered.ts';

export const GAS_TARGET_PER_IMAGE = 5_000;
export const SESSION_IMAGES = 25;

export interface ExactGas {
  transactions: number;
  meanGasUsed: number | undefined;
}

export type GasKind = 'deposit' | 'claim' | 'settle' | 'refund' | 'other';

export interface GasSession {
  channels: number;
  imagesPerChannel: number;
  images: number;
  failures: Record<string, number>;
  /** Transactions and gas used, by kind. */
  byKind: Record<GasKind, { transactions: number; gasUsed: number }>;
  totalGasUsed: number;
  gasPerImage: number | undefined;
  /** `to:selector` of the transactions not named by the client or the claim pass. */
  otherTransactions: string[];
  /** Gas of one channel's deposit + refund (means), the part no batching shares. */
  depositPlusRefundPerChannel: number | undefined;
}

export interface GasResults {
  exact: { ours: ExactGas; reference: ExactGas };
  singleChannel: GasSession | undefined;
  batched: GasSession | undefined;
  targetPerImage: number;
  error?: string | undefined;
}

async function exactGas(devnet: Devnet, hashes: readonly string[]): Promise<ExactGas> {
  const used = await Promise.all(
    hashes.map(async (hash) => {
      const receipt = await devnet.publicClient.getTransactionReceipt({ hash: hash as Hash });
      return Number(receipt.gasUsed);
    }),
  );
  return {
    transactions: used.length,
    meanGasUsed: used.length === 0 ? undefined : used.reduce((a, b) => a + b, 0) / used.length,
  };
}

async function session(options: {
  devnet: Devnet;
  gatewayUrl: string;
  runClaims: () => Promise<{
    claims: readonly { transaction: string }[];
    settle?: { transaction: string } | undefined;
  }>;
  channels: number;
}): Promise<GasSession> {
  const { devnet, channels } = options;
  const deposit = BigInt(SESSION_IMAGES + 5) * PRICE_ATOMIC; // the budget: 25 images and a rest to refund
  const payers = await devnet.fundPayers(channels, deposit);
  const clients = payers.map((p) => batchPayingFetch(p, devnet.publicClient, deposit));
  const fromBlock = (await devnet.publicClient.getBlockNumber()) + 1n;
  const failures: Record<string, number> = {};
  const known = new Map<string, GasKind>();
  let images = 0;
  await Promise.all(
    clients.map(async ({ pay }) => {
      for (let i = 0; i < SESSION_IMAGES; i++) {
        const outcome = await paidRequest(pay, options.gatewayUrl);
        if (!outcome.ok) {
          failures[outcome.reason] = (failures[outcome.reason] ?? 0) + 1;
          continue;
        }
        images += 1;
        if (outcome.tx !== '') known.set(outcome.tx.toLowerCase(), 'deposit');
      }
    }),
  );
  const run = await options.runClaims();
  for (const claim of run.claims) known.set(claim.transaction.toLowerCase(), 'claim');
  if (run.settle) known.set(run.settle.transaction.toLowerCase(), 'settle');
  await Promise.all(
    clients.map(async ({ scheme }) => {
      const refund = await scheme.refund(`${options.gatewayUrl}/generate_image`, { fetch });
      if (refund.success && refund.transaction) known.set(refund.transaction.toLowerCase(), 'refund');
      else
        failures[`refund:${refund.errorReason ?? 'failed'}`] =
          (failures[`refund:${refund.errorReason ?? 'failed'}`] ?? 0) + 1;
    }),
  );
  const toBlock = await devnet.publicClient.getBlockNumber();
  const byKind: GasSession['byKind'] = {
    deposit: { transactions: 0, gasUsed: 0 },
    claim: { transactions: 0, gasUsed: 0 },
    settle: { transactions: 0, gasUsed: 0 },
    refund: { transactions: 0, gasUsed: 0 },
    other: { transactions: 0, gasUsed: 0 },
  };
  const otherTransactions: string[] = [];
  for (let n = fromBlock; n <= toBlock; n++) {
    const block = await devnet.publicClient.getBlock({ blockNumber: n, includeTransactions: true });
    for (const tx of block.transactions) {
      const hash = tx.hash;
      const receipt = await devnet.publicClient.getTransactionReceipt({ hash });
      let kind = known.get(hash.toLowerCase()) ?? 'other';
      // A refund the client's answer did not name is still a call on the channel contract.
      if (kind === 'other' && receipt.to?.toLowerCase() === BATCH_SETTLEMENT_ADDRESS.toLowerCase())
        kind = 'refund';
      if (kind === 'other') otherTransactions.push(`${tx.to ?? 'create'}:${tx.input.slice(0, 10)}`);
      byKind[kind].transactions += 1;
      byKind[kind].gasUsed += Number(receipt.gasUsed);
    }
  }
  const totalGasUsed = Object.values(byKind).reduce((a, k) => a + k.gasUsed, 0);
  return {
    channels,
    imagesPerChannel: SESSION_IMAGES,
    images,
    failures,
    byKind,
    totalGasUsed,
    otherTransactions,
    gasPerImage: images === 0 ? undefined : totalGasUsed / images,
    depositPlusRefundPerChannel:
      byKind.deposit.transactions === 0 || byKind.refund.transactions === 0
        ? undefined
        : byKind.deposit.gasUsed / byKind.deposit.transactions +
          byKind.refund.gasUsed / byKind.refund.transactions,
  };
}

export async function runGas(options: {
  devnet: Devnet;
  exactTransactions: { ours: readonly string[]; reference: readonly string[] };
  batchedChannels: number;
  log: (line: string) => void;
}): Promise<GasResults> {
  const { devnet, log } = options;
  const exact = {
    ours: await exactGas(devnet, options.exactTransactions.ours),
    reference: await exactGas(devnet, options.exactTransactions.reference),
  };
  const quiet = () => {};
  const facilitator = await startFacilitator({
    rpcUrl: devnet.rpcUrl,
    privateKey: devnet.accounts.settler.privateKey,
    network: 'devnet',
    port: 0,
    logger: createFacilitatorLogger(quiet),
  });
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-gas-'));
  try {
    const gateway = await startGateway({
      port: 0,
      sellerAddress: devnet.accounts.seller.address,
      network: 'devnet',
      facilitatorUrl: facilitator.url,
      dataDir,
      rpcUrl: devnet.rpcUrl,
      imageUrlSecret: 'bench-only-image-url-secret-0123456789',
      imageGenerator: await prerenderedImageGenerator(),
      logger: createGatewayLogger({ write: quiet }),
      batchSettlement: { claimIntervalSeconds: 0 },
    });
    try {
      const claims = gateway.channels?.claims;
      if (claims === undefined) throw new Error('batch-settlement is off in the gateway');
      const run = (channels: number) =>
        session({ devnet, gatewayUrl: gateway.url, runClaims: () => claims.runOnce(), channels });
      const singleChannel = await run(1);
      log(
        `gas: 1 channel × ${SESSION_IMAGES} images: ${singleChannel.gasPerImage?.toFixed(0)} gas per image`,
      );
      const batched = await run(options.batchedChannels);
      log(
        `gas: ${options.batchedChannels} channels × ${SESSION_IMAGES} images, one claim pass: ${batched.gasPerImage?.toFixed(0)} gas per image`,
      );
      return { exact, singleChannel, batched, targetPerImage: GAS_TARGET_PER_IMAGE };
    } finally {
      await gateway.stop();
    }
  } catch (error) {
    return {
      exact,
      singleChannel: undefined,
      batched: undefined,
      targetPerImage: GAS_TARGET_PER_IMAGE,
      error: error instanceof Error ? error.message : String(error),
    };
  } finally {
    await facilitator.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
