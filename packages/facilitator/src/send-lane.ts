import { neverConnected } from '@agentic-payments/x402';
import { type Address, type Hex, keccak256 } from 'viem';
import { isNonceError, type NonceAllocator } from './nonce-allocator.ts';
import type { TransactionSigner } from './transaction-signer.ts';

/** A settlement transaction before it has a nonce and a signature. */
export interface UnsignedTransaction {
  readonly to: Address;
  readonly data: Hex;
  readonly gas: bigint;
  readonly maxFeePerGas: bigint;
  readonly maxPriorityFeePerGas: bigint;
}

export interface Broadcast {
  readonly hash: Hex;
  /** What the broadcast returned for this transaction (the signer passes a receipt, or null). */
  readonly result: unknown;
  /**
   * False when the request got no answer (a timeout, a reset): the node may or may not have the
   * transaction, so the caller must wait for its receipt rather than report a failure.
   */
  readonly acknowledged: boolean;
}

/**
 * Sends raw transactions as ONE JSON-RPC request (a batch, in the given order) and answers per
 * transaction: fulfilled when the node accepted it, rejected with the node's refusal. Throws when
 * the request got no answer. The order inside one request is the order the node sees them.
 */
export type BroadcastBatch = (raws: readonly Hex[]) => Promise<ReadonlyArray<PromiseSettledResult<unknown>>>;

export interface SendLaneOptions {
  readonly sign: TransactionSigner;
  readonly chainId: number;
  readonly nonces: NonceAllocator;
  readonly broadcast: BroadcastBatch;
  /** Most transactions in one flight (one JSON-RPC batch). */
  readonly maxPerFlight?: number;
  /** Attempts per transaction when the node refuses its nonce (each attempt re-reads the nonce). */
  readonly maxAttempts?: number;
}

interface Queued {
  readonly tx: UnsignedTransaction;
  attempts: number;
  readonly resolve: (broadcast: Broadcast) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * One settler account's transactions, broadcast strictly in nonce order with one request in
 * flight at a time: while a flight is out, new transactions queue up and leave together in the
 * next one (one JSON-RPC batch, nonces ascending, at most `maxPerFlight`). Nonces are assigned
 * when a flight is built, so the order the node sees is the nonce order whatever order the callers
 * came in.
 *
 * Why: requests in flight side by side reach the node in any order, and a transaction that
 * arrives before a lower nonce of the same sender waits in the node's queue: real nodes promote it
 * late, anvil 1.7 sometimes never (seen here: settlements at 128 concurrent requests got no receipt
 * within 15 s). On the devnet the signer also sends one transaction per flight (see `syncSend`).
 */
export class SendLane {
  readonly #options: SendLaneOptions;
  readonly #maxPerFlight: number;
  readonly #maxAttempts: number;
  readonly #queue: Queued[] = [];
  #flying = false;

  constructor(options: SendLaneOptions) {
    this.#options = options;
    this.#maxPerFlight = options.maxPerFlight ?? 100;
    this.#maxAttempts = options.maxAttempts ?? 4;
  }

  /** Signs `tx` with the next nonce and broadcasts it in order; resolves once the node accepted it. */
  send(tx: UnsignedTransaction): Promise<Broadcast> {
    return new Promise<Broadcast>((resolve, reject) => {
      this.#queue.push({ tx, attempts: 0, resolve, reject });
      void this.#pump();
    });
  }

  async #pump(): Promise<void> {
    if (this.#flying || this.#queue.length === 0) return;
    this.#flying = true;
    const flight = this.#queue.splice(0, this.#maxPerFlight);
    try {
      await this.#fly(flight);
    } finally {
      this.#flying = false;
      void this.#pump();
    }
  }

  async #fly(flight: Queued[]): Promise<void> {
    const { sign, chainId, nonces, broadcast } = this.#options;
    const signed: Array<{ item: Queued; raw: Hex }> = [];
    for (const [index, item] of flight.entries()) {
      try {
        const nonce = await nonces.allocate();
        const raw = await sign({
          type: 'eip1559',
          chainId,
          to: item.tx.to,
          data: item.tx.data,
          nonce,
          gas: item.tx.gas,
          value: 0n,
          maxFeePerGas: item.tx.maxFeePerGas,
          maxPriorityFeePerGas: item.tx.maxPriorityFeePerGas,
        });
        signed.push({ item, raw });
      } catch (error) {
        // No nonce (the chain could not be read) or a nonce handed out and not used: the rest of
        // this flight would leave a gap, so none of it is sent; the next flight re-reads the nonce.
        nonces.resync();
        for (const rest of flight.slice(index)) rest.reject(error);
        break;
      }
    }
    if (signed.length === 0) return;
    let results: ReadonlyArray<PromiseSettledResult<unknown>>;
    try {
      results = await broadcast(signed.map((s) => s.raw));
    } catch (error) {
      // The local counter may be ahead of the chain now (if the request never arrived).
      nonces.resync();
      for (const { item, raw } of signed) {
        // Refused before anything was sent (nothing listens): a plain failure. Any other fault may
        // have happened after the node took the batch: hand out the hashes, so the caller waits
        // for receipts (and ends in settlement_pending) instead of reporting a failure while the
        // transfer may still land.
        if (neverConnected(error)) item.reject(error);
        else item.resolve({ hash: keccak256(raw), result: null, acknowledged: false });
      }
      return;
    }
    const retry: Queued[] = [];
    let resync = false;
    for (const [index, { item, raw }] of signed.entries()) {
      const result = results[index] ?? { status: 'rejected', reason: new Error('no answer in the batch') };
      if (result.status === 'fulfilled') {
        item.resolve({ hash: keccak256(raw), result: result.value, acknowledged: true });
        continue;
      }
      // Either way the local counter may now be wrong (a gap, or the chain is ahead): re-read it.
      resync = true;
      item.attempts += 1;
      if (isNonceError(result.reason) && item.attempts < this.#maxAttempts) retry.push(item);
      else item.reject(result.reason);
    }
    if (resync) nonces.resync();
    this.#queue.unshift(...retry);
  }
}
