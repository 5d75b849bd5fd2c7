/**
 * A local transaction-nonce allocator for one settler address.
 *
 * Why not viem's default nonce manager: with 50 settlements in flight it stalled here (it re-reads
 * the pending count per transaction and lets concurrent callers race). This allocator reads
 * `eth_getTransactionCount(address, 'pending')` once, then hands out consecutive nonces without
 * any round trip; a send that fails because of the nonce (or fails before broadcast, leaving a
 * gap) calls `resync()` and the next allocation re-reads the chain.
 */
export class NonceAllocator {
  readonly #readPendingCount: () => Promise<number>;
  #next: number | undefined;
  #seeding: Promise<void> | undefined;
  #resyncs = 0;

  constructor(readPendingCount: () => Promise<number>) {
    this.#readPendingCount = readPendingCount;
  }

  /** Hands out the next nonce; concurrent callers get distinct, consecutive values. */
  async allocate(): Promise<number> {
    while (this.#next === undefined) {
      this.#seeding ??= this.#seed();
      await this.#seeding;
    }
    const nonce = this.#next;
    this.#next = nonce + 1;
    return nonce;
  }

  /** Forget the local counter; the next allocation re-reads the pending count from the chain. */
  resync(): void {
    this.#next = undefined;
    this.#resyncs += 1;
  }

  get resyncs(): number {
    return this.#resyncs;
  }

  async #seed(): Promise<void> {
    try {
      const count = await this.#readPendingCount();
      this.#next ??= count;
    } finally {
      this.#seeding = undefined;
    }
  }
}

const NONCE_ERROR =
  /nonce too low|nonce too high|already known|replacement transaction underpriced|nonce has already been used|NonceTooLow|invalid nonce/i;

/** True when a send failed because of the transaction nonce (so a resync and retry can fix it). */
export function isNonceError(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current instanceof Error; depth++) {
    const details = (current as { details?: unknown }).details;
    if (NONCE_ERROR.test(current.message) || (typeof details === 'string' && NONCE_ERROR.test(details))) {
      return true;
    }
    current = current.cause;
  }
  return false;
}
