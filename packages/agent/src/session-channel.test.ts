import { getNetwork } from '@agentic-payments/x402';
import { describe, expect, it } from 'vitest';
import { syncChannelTransactions } from './session-channel.ts';
import type { AgentDeps, SessionContext } from './session-context.ts';
import { emptySession } from './session-state.ts';

const CHANNEL = `0x${'c4'.repeat(32)}` as const;
const [CLAIM, SETTLE, REFUND] = ['c1', '5e', 'ef'].map((b) => `0x${b.repeat(32)}`);

function session(fetchImpl: typeof fetch) {
  const logs: Record<string, unknown>[] = [];
  const deps = {
    config: {
      gatewayUrl: 'http://gateway.test',
      explorerUrl: 'http://explorer.test',
      network: getNetwork('devnet'),
    },
    fetch: fetchImpl,
    log: (entry: Record<string, unknown>) => logs.push(entry),
  } as unknown as AgentDeps;
  const record = emptySession('s-1', new Date('2026-12-06T00:00:00Z'));
  record.channel = {
    scheme: 'batch-settlement',
    channel_id: CHANNEL,
    salt: `0x${'00'.repeat(32)}`,
    status: 'open',
    deposits: [],
    signed_max: '0',
    refunded: '0',
    opened_at: '2026-12-06T00:00:00Z',
  };
  let persisted = 0;
  const ctx: SessionContext = {
    record,
    latestUserText: '',
    turnPayments: [],
    turnImageIds: [],
    persist: async () => {
      persisted += 1;
    },
  };
  return { deps, ctx, logs, persisted: () => persisted };
}

const listed = (kinds: Array<['claim' | 'settle' | 'refund', string | undefined]>) =>
  Response.json({
    channel_id: CHANNEL,
    transactions: kinds.map(([kind, hash]) => ({
      kind,
      transaction_hash: hash,
      recorded_at: '2026-12-06T00:01:00.000Z',
    })),
  });

describe('syncChannelTransactions', () => {
  it('adds the seller’s claims and settles as receipts of amount 0, each once, and skips its refunds', async () => {
    const asked: string[] = [];
    const { deps, ctx, persisted } = session(async (url) => {
      asked.push(String(url));
      return listed([
        ['claim', CLAIM],
        ['settle', SETTLE],
        ['refund', REFUND],
      ]);
    });
    const added = await syncChannelTransactions(deps, ctx);
    expect(asked).toStrictEqual([`http://gateway.test/channels/${CHANNEL}/transactions`]);
    expect(added.map((r) => [r.kind, r.transaction_hash, r.amount])).toStrictEqual([
      ['claim', CLAIM, '0'],
      ['settle', SETTLE, '0'],
    ]);
    expect(added[0]).toMatchObject({ channel_id: CHANNEL, explorer_url: `http://explorer.test/tx/${CLAIM}` });
    expect(ctx.turnPayments).toStrictEqual(added);
    expect(persisted()).toBe(1);
    // Asked again: nothing new, nothing written.
    expect(await syncChannelTransactions(deps, ctx)).toStrictEqual([]);
    expect(ctx.record.payments).toHaveLength(2);
    expect(persisted()).toBe(1);
  });

  it('changes nothing and logs when the gateway cannot answer (the next turn asks again)', async () => {
    for (const answer of [
      async () => {
        throw new Error('connection refused');
      },
      async () => Response.json({ error: 'not_found' }, { status: 404 }),
      async () => Response.json({ channel_id: CHANNEL, transactions: [{ kind: 'claim' }] }),
    ]) {
      const { deps, ctx, logs, persisted } = session(answer as typeof fetch);
      expect(await syncChannelTransactions(deps, ctx)).toStrictEqual([]);
      expect(ctx.record.payments).toStrictEqual([]);
      expect(persisted()).toBe(0);
      expect(logs.map((l) => l.event)).toStrictEqual(['channel_transactions_unavailable']);
    }
  });

  it('asks nothing for a session without a channel (exact payments)', async () => {
    const { deps, ctx } = session(async () => {
      throw new Error('must not be asked');
    });
    delete ctx.record.channel;
    expect(await syncChannelTransactions(deps, ctx)).toStrictEqual([]);
  });
});
