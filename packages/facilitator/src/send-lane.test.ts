import { type Hex, keccak256, parseTransaction } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { NonceAllocator } from './nonce-allocator.ts';
import { type BroadcastBatch, SendLane, type UnsignedTransaction } from './send-lane.ts';

const account = privateKeyToAccount(`0x${'42'.repeat(32)}`);
const sign = (tx: Parameters<typeof account.signTransaction>[0]) => account.signTransaction(tx);

const tx = (i: number): UnsignedTransaction => ({
  to: `0x${(i + 1).toString(16).padStart(40, '0')}`,
  data: '0x',
  gas: 100_000n,
  maxFeePerGas: 2n,
  maxPriorityFeePerGas: 1n,
});

interface Flight {
  nonces: number[];
  /** Flights still out when this one left. */
  concurrent: number;
}

/** A node stand-in: records each flight's nonces; `answer` decides per transaction. */
function fakeNode(options: {
  answer?: (nonce: number, call: number) => Error | undefined;
  delayMs?: number;
}) {
  const flights: Flight[] = [];
  let out = 0;
  let calls = 0;
  const broadcast: BroadcastBatch = async (raws) => {
    const nonces = raws.map((raw) => parseTransaction(raw).nonce ?? -1);
    flights.push({ nonces, concurrent: out });
    out += 1;
    await new Promise((r) => setTimeout(r, options.delayMs ?? 2));
    out -= 1;
    return raws.map((raw, i) => {
      calls += 1;
      const error = options.answer?.(nonces[i] ?? -1, calls);
      return error ? { status: 'rejected', reason: error } : { status: 'fulfilled', value: raw };
    });
  };
  return { flights, broadcast };
}

function lane(node: ReturnType<typeof fakeNode>, start = 7) {
  let reads = 0;
  const nonces = new NonceAllocator(async () => {
    reads += 1;
    return start;
  });
  const sendLane = new SendLane({ sign, chainId: 84532, nonces, broadcast: node.broadcast });
  return { sendLane, nonces, reads: () => reads };
}

describe('SendLane', () => {
  it('broadcasts in nonce order, one flight at a time, batching what queued meanwhile', async () => {
    const node = fakeNode({});
    const { sendLane } = lane(node);
    const sent = await Promise.all(Array.from({ length: 10 }, (_, i) => sendLane.send(tx(i))));

    expect(node.flights.every((f) => f.concurrent === 0)).toBe(true);
    expect(node.flights[0]?.nonces).toStrictEqual([7]);
    // Everything that arrived while the first flight was out left together, in nonce order.
    expect(node.flights.slice(1).map((f) => f.nonces)).toStrictEqual([[8, 9, 10, 11, 12, 13, 14, 15, 16]]);
    // Each caller gets its own transaction and its hash; nonces follow the callers' order.
    expect(
      sent.map((s) => {
        const parsed = parseTransaction(s.result as Hex);
        return [parsed.to, parsed.nonce, s.hash === keccak256(s.result as Hex)];
      }),
    ).toStrictEqual(Array.from({ length: 10 }, (_, i) => [tx(i).to, 7 + i, true]));
  });

  it('re-signs a transaction whose nonce the node refused, after re-reading the nonce', async () => {
    const node = fakeNode({
      answer: (_nonce, call) => (call === 1 ? new Error('nonce too low') : undefined),
    });
    const { sendLane, nonces, reads } = lane(node);
    const sent = await sendLane.send(tx(0));

    expect(node.flights.map((f) => f.nonces)).toStrictEqual([[7], [7]]);
    expect(nonces.resyncs).toBe(1);
    expect(reads()).toBe(2);
    expect(sent.hash).toMatch(/^0x[0-9a-f]{64}$/);
  });

  it('fails a transaction the node refused for another reason, and re-reads the nonce for the next', async () => {
    const node = fakeNode({
      answer: (nonce) => (nonce === 8 ? new Error('insufficient funds for gas') : undefined),
    });
    const { sendLane, nonces } = lane(node);
    const first = sendLane.send(tx(0));
    const [second, third] = [sendLane.send(tx(1)), sendLane.send(tx(2))];

    await expect(first).resolves.toMatchObject({ hash: expect.any(String) });
    await expect(second).rejects.toThrow('insufficient funds for gas');
    await expect(third).resolves.toMatchObject({ hash: expect.any(String) });
    expect(nonces.resyncs).toBe(1);
  });

  it('gives up after the configured attempts when the nonce keeps being refused', async () => {
    const node = fakeNode({ answer: () => new Error('nonce too low') });
    const nonces = new NonceAllocator(async () => 0);
    const sendLane = new SendLane({
      sign,
      chainId: 84532,
      nonces,
      broadcast: node.broadcast,
      maxAttempts: 3,
    });

    await expect(sendLane.send(tx(0))).rejects.toThrow('nonce too low');
    expect(node.flights).toHaveLength(3);
  });

  it('sends nothing of a flight when the nonce cannot be read, and recovers once it can', async () => {
    const node = fakeNode({});
    let down = true;
    const nonces = new NonceAllocator(async () => {
      if (down) throw new Error('rpc down');
      return 3;
    });
    const sendLane = new SendLane({ sign, chainId: 84532, nonces, broadcast: node.broadcast });

    await expect(Promise.all([sendLane.send(tx(0)), sendLane.send(tx(1))])).rejects.toThrow('rpc down');
    expect(node.flights).toHaveLength(0);
    down = false;
    await sendLane.send(tx(2));
    expect(node.flights.map((f) => f.nonces)).toStrictEqual([[3]]);
  });

  describe('when the broadcast request gets no answer', () => {
    const lost = (error: Error) => {
      const nonces = new NonceAllocator(async () => 0);
      const sendLane = new SendLane({
        sign,
        chainId: 84532,
        nonces,
        broadcast: async () => {
          throw error;
        },
      });
      return { sendLane, nonces };
    };

    it('hands out the hash as unacknowledged (the node may have it), never a failure', async () => {
      const { sendLane, nonces } = lost(new Error('The request took too long to respond.'));
      const sent = await sendLane.send(tx(0));
      expect([sent.acknowledged, sent.result]).toStrictEqual([false, null]);
      expect(sent.hash).toMatch(/^0x[0-9a-f]{64}$/);
      expect(nonces.resyncs).toBe(1);
    });

    it('fails the transactions when the connection was refused (nothing can have arrived)', async () => {
      const refused = Object.assign(new Error('fetch failed'), {
        cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
      });
      const { sendLane } = lost(refused);
      await expect(sendLane.send(tx(0))).rejects.toThrow('fetch failed');
    });
  });
});
