import type { ImageAnalyzer } from '@agentic-payments/imaging';
import type { AgentConfig } from './config.ts';
import type { PaymentReceipt, SessionRecord } from './session-state.ts';
import type { SpendingPolicy } from './spending-policy.ts';
import type { AgentWallet } from './wallet.ts';
import type { WalletBudget } from './wallet-budget.ts';

/** Process-wide dependencies the tools use; none of them holds session state. */
export interface AgentDeps {
  config: AgentConfig;
  policy: SpendingPolicy;
  /** The wallet-wide rolling 24-hour budget, shared by every session (and container). */
  budget: WalletBudget;
  wallet: AgentWallet;
  analyzer: ImageAnalyzer;
  fetch: typeof globalThis.fetch;
  now: () => Date;
  newId: () => string;
  log: (entry: Record<string, unknown>) => void;
}

/** One session's live state during a turn; tools read and write only this. */
export interface SessionContext {
  record: SessionRecord;
  /** The latest user text of this turn, for the confirm-mode consent check. */
  latestUserText: string;
  /** Receipts and images produced in this turn (the reply's `payments` and `images`). */
  turnPayments: PaymentReceipt[];
  turnImageIds: string[];
  /**
   * Saves the record now, mid-turn (the record is saved at the end of every turn anyway): a payment
   * channel's deposit and charges must survive a crash in the middle of a turn.
   */
  persist: () => Promise<void>;
}
