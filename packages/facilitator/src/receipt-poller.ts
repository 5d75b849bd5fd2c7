import { AppError } from '@agentic-payments/x402';
import type { Hex, TransactionReceipt } from 'viem';
import { formatTransactionReceipt } from 'viem';

/** The receipt wait passed its deadline; the transaction may still be mined later. */
export class ReceiptTimeoutError extends AppError<'settlement_pending'> {
  override name = 'ReceiptTimeoutError';
  readonly hash: Hex;
  constructor(hash: Hex, timeoutMs: number) {
    super('settlement_pending', `no receipt for ${hash} within ${timeoutMs} ms`, { httpStatus: 504 });
    this.hash = hash;
  }
}

export type RpcRequest = (method: string, params: readonly unknown[]) => Promise<unknown>;

interface Waiter {
  resolve: (receipt: TransactionReceipt) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * One poll loop for every transaction the facilitator waits on: each tick asks for all pending
 * receipts at once (the transport batches them into one JSON-RPC request), instead of one
 * `waitForTransactionReceipt` loop per settlement with viem's 4 s default interval.
 */
export class ReceiptPoller {
  readonly #request: RpcRequest;
  readonly #intervalMs: number;
  readonly #waiters = new Map<Hex, Waiter[]>();
  readonly #offered = new Map<Hex, TransactionReceipt>();
  #timer: NodeJS.Timeout | undefined;
  #polling = false;
  #arrivedWhilePolling = false;
  #polls = 0;

  constructor(request: RpcRequest, intervalMs: number) {
    this.#request = request;
    this.#intervalMs = intervalMs;
  }

  /** Number of `eth_getTransactionReceipt` calls made so far (for the benchmark). */
  get polls(): number {
    return this.#polls;
  }

  /**
   * Hands over a receipt fetched elsewhere (in the same JSON-RPC batch as the send): the next
   * `wait` for that hash resolves without a poll.
   */
  offer(hash: Hex, rawReceipt: unknown): void {
    if (rawReceipt == null) return;
    const receipt = formatTransactionReceipt(rawReceipt as Parameters<typeof formatTransactionReceipt>[0]);
    const list = this.#waiters.get(hash);
    if (list) {
      this.#waiters.delete(hash);
      for (const waiter of list) {
        clearTimeout(waiter.timer);
        waiter.resolve(receipt);
      }
      return;
    }
    if (this.#offered.size >= 1_000) this.#offered.clear();
    this.#offered.set(hash, receipt);
  }

  wait(hash: Hex, timeoutMs: number): Promise<TransactionReceipt> {
    const offered = this.#offered.get(hash);
    if (offered) {
      this.#offered.delete(hash);
      return Promise.resolve(offered);
    }
    return new Promise<TransactionReceipt>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#drop(hash, waiter);
        reject(new ReceiptTimeoutError(hash, timeoutMs));
      }, timeoutMs);
      const waiter: Waiter = { resolve, reject, timer };
      const list = this.#waiters.get(hash) ?? [];
      list.push(waiter);
      this.#waiters.set(hash, list);
      // The first look happens at once: on an automining devnet the receipt already exists.
      this.#schedule(0);
    });
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const [hash, list] of this.#waiters) {
      for (const waiter of list) {
        clearTimeout(waiter.timer);
        waiter.reject(new ReceiptTimeoutError(hash, 0));
      }
    }
    this.#waiters.clear();
  }

  #drop(hash: Hex, waiter: Waiter): void {
    const list = this.#waiters.get(hash);
    if (!list) return;
    const rest = list.filter((w) => w !== waiter);
    if (rest.length === 0) this.#waiters.delete(hash);
    else this.#waiters.set(hash, rest);
  }

  #schedule(delayMs: number): void {
    if (this.#polling) {
      // The running tick reschedules itself; a hash that arrived meanwhile is looked at at once.
      if (delayMs === 0) this.#arrivedWhilePolling = true;
      return;
    }
    if (this.#timer !== undefined) {
      if (delayMs > 0) return;
      clearTimeout(this.#timer);
    }
    this.#timer = setTimeout(() => void this.#tick(), delayMs);
  }

  async #tick(): Promise<void> {
    this.#timer = undefined;
    this.#polling = true;
    this.#arrivedWhilePolling = false;
    try {
      const hashes = [...this.#waiters.keys()];
      this.#polls += hashes.length;
      const results = await Promise.allSettled(
        hashes.map((hash) => this.#request('eth_getTransactionReceipt', [hash])),
      );
      results.forEach((result, index) => {
        const hash = hashes[index];
        if (hash === undefined || result.status !== 'fulfilled' || result.value == null) return;
        const receipt = formatTransactionReceipt(
          result.value as Parameters<typeof formatTransactionReceipt>[0],
        );
        const list = this.#waiters.get(hash) ?? [];
        this.#waiters.delete(hash);
        for (const waiter of list) {
          clearTimeout(waiter.timer);
          waiter.resolve(receipt);
        }
      });
    } finally {
      this.#polling = false;
      if (this.#waiters.size > 0) this.#schedule(this.#arrivedWhilePolling ? 0 : this.#intervalMs);
    }
  }
}
