import { batchSettlementAbi as batchSettlementABI } from '@agentic-payments/devnet';
import { describe, expect, it } from 'vitest';
import { recordingSigner } from '../test/batch-builders.ts';
import { createBatchSettlementSigner, type GasEstimatingSigner } from './batch-settlement-signer.ts';

const CONTRACT = '0x4020074e9dF2ce1deE5A9C1b5c3f541D02a10003';
const RECEIVER = '0x90F79bf6EB2c4f870365E785982E1f101E93b906';
const TOKEN = '0x036CbD53842c5426634e7929541eC2318f3dCF7e';

function settler(estimate: bigint | Error) {
  const base = recordingSigner();
  const gasSeen: Array<bigint | undefined> = [];
  const estimated: string[] = [];
  const signer: GasEstimatingSigner = {
    ...base.signer,
    writeContract: async (args) => {
      gasSeen.push(args.gas);
      return base.signer.writeContract(args);
    },
    estimateGas: async ({ data }) => {
      estimated.push(data);
      if (estimate instanceof Error) throw estimate;
      return estimate;
    },
  };
  return { signer, gasSeen, estimated, writes: base.writes };
}

describe('createBatchSettlementSigner', () => {
  it('estimates a write without a gas limit and adds 25% headroom', async () => {
    const s = settler(100_000n);
    const hash = await createBatchSettlementSigner(s.signer).writeContract({
      address: CONTRACT,
      abi: batchSettlementABI,
      functionName: 'settle',
      args: [RECEIVER, TOKEN],
    });
    expect(hash).toMatch(/^0x[0-9a-f]{64}$/);
    expect(s.gasSeen).toStrictEqual([125_000n]);
    expect(s.estimated).toHaveLength(1);
  });

  it("keeps the scheme's own gas limit", async () => {
    const s = settler(100_000n);
    await createBatchSettlementSigner(s.signer).writeContract({
      address: CONTRACT,
      abi: batchSettlementABI,
      functionName: 'settle',
      args: [RECEIVER, TOKEN],
      gas: 120_000n,
    });
    expect(s.gasSeen).toStrictEqual([120_000n]);
    expect(s.estimated).toStrictEqual([]);
  });

  it('sends nothing when the node expects the call to revert', async () => {
    const s = settler(new Error('execution reverted: ClaimExceedsBalance'));
    await expect(
      createBatchSettlementSigner(s.signer).writeContract({
        address: CONTRACT,
        abi: batchSettlementABI,
        functionName: 'settle',
        args: [RECEIVER, TOKEN],
      }),
    ).rejects.toThrow(/reverted/);
    expect(s.writes).toStrictEqual([]);
  });

  it('refuses raw transactions (no smart-wallet deployment)', async () => {
    const s = settler(100_000n);
    await expect(
      createBatchSettlementSigner(s.signer).sendTransaction({ to: CONTRACT, data: '0x' }),
    ).rejects.toThrow(/not sent/);
    expect(s.writes).toStrictEqual([]);
  });
});
