import { z } from 'zod';

/** The wallet cap is a rolling window: what was reserved in the last 24 hours counts. */
export const WALLET_BUDGET_WINDOW_MS = 24 * 60 * 60 * 1000;

const BudgetEntry = z.object({
  /** One signature: the EIP-3009 nonce of the authorization (unique per payment). */
  id: z.string().min(1),
  /** Atomic USDC. */
  amount: z.string().regex(/^\d+$/),
  /** Epoch milliseconds of the reservation. */
  at: z.number().int().nonnegative(),
  /** `reserved` until the seller delivered (settled); a crash in between leaves it counted. */
  state: z.enum(['reserved', 'settled']),
});
export type BudgetEntry = z.infer<typeof BudgetEntry>;

/** What a store keeps for one wallet: the entries of the current window. */
export const BudgetLedger = z.object({ entries: z.array(BudgetEntry) });
export type BudgetLedger = z.infer<typeof BudgetLedger>;

/**
 * The port: one wallet's ledger read and replaced atomically. An adapter implements only this
 * (file: a lock in the process and atomic renames; DynamoDB: a version compare-and-set), so the
 * budget rule itself lives once, in {@link WalletBudget}.
 */
export interface WalletBudgetStore {
  readonly kind: 'file' | 'dynamodb' | 'memory';
  /**
   * Runs `change` on the wallet's current ledger and stores the ledger it returns, with no lost
   * update between concurrent callers (sessions in this process, or other containers). `change`
   * may run more than once (an adapter retries after a conflicting write) and must be pure.
   */
  update<T>(
    walletKey: string,
    change: (ledger: BudgetLedger) => { ledger?: BudgetLedger; result: T },
  ): Promise<T>;
  read(walletKey: string): Promise<BudgetLedger>;
}

export type ReserveResult = { ok: true; spent: bigint } | { ok: false; spent: bigint; cap: bigint };

export interface WalletBudgetStatus {
  /** WALLET_BUDGET_24H_USDC, atomic. */
  cap: bigint;
  /** Reserved or settled in the last 24 hours, atomic. */
  spent: bigint;
  remaining: bigint;
}

function inWindow(entries: BudgetEntry[], now: number): BudgetEntry[] {
  return entries.filter(
    (entry) => entry.at > now - WALLET_BUDGET_WINDOW_MS && entry.at <= now + WALLET_BUDGET_WINDOW_MS,
  );
}

function total(entries: BudgetEntry[]): bigint {
  return entries.reduce((sum, entry) => sum + BigInt(entry.amount), 0n);
}

/**
 * The wallet-wide rolling 24-hour cap, over every session of every agent process that shares the
 * store. A payment reserves its amount atomically before it is signed; the reservation is released
 * when the payment provably did not settle, and otherwise counts until it leaves the window.
 *
 * @example
 * const budget = new WalletBudget(store, { walletKey: 'eip155:84532:0xabc', cap: 5_000_000n });
 * const reserved = await budget.reserve(nonce, 40_000n);
 */
export class WalletBudget {
  readonly cap: bigint;
  private readonly walletKey: string;
  private readonly now: () => Date;

  constructor(
    private readonly store: WalletBudgetStore,
    options: { walletKey: string; cap: bigint; now?: () => Date },
  ) {
    this.walletKey = options.walletKey;
    this.cap = options.cap;
    this.now = options.now ?? (() => new Date());
  }

  get kind(): WalletBudgetStore['kind'] {
    return this.store.kind;
  }

  /** Reserves `amount` under `id` if the window has room; a second reserve of one id is a no-op. */
  reserve(id: string, amount: bigint): Promise<ReserveResult> {
    const now = this.now().getTime();
    const cap = this.cap;
    return this.store.update<ReserveResult>(this.walletKey, (ledger) => {
      const entries = inWindow(ledger.entries, now);
      const spent = total(entries);
      if (entries.some((entry) => entry.id === id)) return { result: { ok: true, spent } };
      if (amount <= 0n || spent + amount > cap) return { result: { ok: false, spent, cap } };
      const entry: BudgetEntry = { id, amount: amount.toString(), at: now, state: 'reserved' };
      return { ledger: { entries: [...entries, entry] }, result: { ok: true, spent: spent + amount } };
    });
  }

  /** The seller delivered: the reservation is spent for good (it still leaves the window after 24 h). */
  settle(id: string): Promise<void> {
    return this.store.update(this.walletKey, (ledger) => {
      const found = ledger.entries.some((entry) => entry.id === id && entry.state === 'reserved');
      if (!found) return { result: undefined };
      const entries = ledger.entries.map((entry) =>
        entry.id === id ? { ...entry, state: 'settled' as const } : entry,
      );
      return { ledger: { entries }, result: undefined };
    });
  }

  /** The payment provably did not settle: its amount is free again. A settled entry is never released. */
  release(id: string): Promise<void> {
    return this.store.update(this.walletKey, (ledger) => {
      const entries = ledger.entries.filter((entry) => !(entry.id === id && entry.state === 'reserved'));
      if (entries.length === ledger.entries.length) return { result: undefined };
      return { ledger: { entries }, result: undefined };
    });
  }

  /**
   * Money came back to the wallet (a payment channel's cooperative refund): the entry counts
   * `amount` less, and is dropped once nothing of it is left. Returns what was taken off.
   */
  returnFunds(id: string, amount: bigint): Promise<bigint> {
    return this.store.update<bigint>(this.walletKey, (ledger) => {
      const entry = ledger.entries.find((e) => e.id === id);
      if (!entry || amount <= 0n) return { result: 0n };
      const held = BigInt(entry.amount);
      const returned = amount < held ? amount : held;
      const entries = ledger.entries.flatMap((e) => {
        if (e.id !== id) return [e];
        const left = held - returned;
        return left > 0n ? [{ ...e, amount: left.toString() }] : [];
      });
      return { ledger: { entries }, result: returned };
    });
  }

  async status(): Promise<WalletBudgetStatus> {
    const ledger = await this.store.read(this.walletKey);
    const spent = total(inWindow(ledger.entries, this.now().getTime()));
    return { cap: this.cap, spent, remaining: spent >= this.cap ? 0n : this.cap - spent };
  }
}

/** The store key of one wallet: the same address on two networks holds two different balances. */
export function walletBudgetKey(caip2: string, address: string): string {
  return `${caip2}:${address.toLowerCase()}`;
}

/** TEST ONLY fake and the reference of the port's contract: a ledger per key, in this process. */
export function createMemoryWalletBudgetStore(): WalletBudgetStore {
  const ledgers = new Map<string, BudgetLedger>();
  return {
    kind: 'memory',
    async read(walletKey) {
      return ledgers.get(walletKey) ?? { entries: [] };
    },
    async update(walletKey, change) {
      const { ledger, result } = change(ledgers.get(walletKey) ?? { entries: [] });
      if (ledger) ledgers.set(walletKey, ledger);
      return result;
    },
  };
}
