import {
  type AgentOutput,
  type AgentSessionSpend,
  formatUsdc,
  SESSION_RECEIPTS_LIMIT,
} from '@agentic-payments/x402';
import { Agent, type MessageData } from '@strands-agents/sdk';
import type { ModelFactory } from './models.ts';
import { channelRemaining, channelSummary, syncChannelTransactions } from './session-channel.ts';
import type { AgentDeps, SessionContext } from './session-context.ts';
import type { SessionMemory } from './session-memory.ts';
import { emptySession, type PaymentReceipt, type SessionRecord } from './session-state.ts';
import { SYSTEM_PROMPT } from './system-prompt.ts';
import { createSessionTools, endSessionReply } from './tools.ts';

/**
 * The AgentCore `output` object, plus `payments` (this turn), `wallet` and `session` (the session's
 * receipts and spend against its budget): the `AgentOutput` schema of `@agentic-payments/x402`,
 * with every field this agent always fills made required.
 */
export type InvocationOutput = AgentOutput & {
  message: { role: 'assistant'; content: { text: string }[] };
  timestamp: string;
  model: string;
  session_id: string;
  images: Record<string, string>;
  payments: OutputReceipt[];
  session: AgentSessionSpend & { payments: OutputReceipt[] };
};

/** A stored receipt with the network's display name beside its protocol id. */
export type OutputReceipt = PaymentReceipt & { network_name: string };

function formatEth(wei: bigint): string {
  const whole = wei / 10n ** 18n;
  const frac = (wei % 10n ** 18n).toString().padStart(18, '0').slice(0, 6);
  return `${whole}.${frac}`;
}

/**
 * Runs turns. Each session has its own record (conversation, current request, images, payments,
 * spend) and its own Strands Agent built from it for the turn; turns of one session run one at a
 * time, turns of different sessions run concurrently, and nothing is shared between sessions.
 */
export class AgentRuntime {
  private readonly queues = new Map<string, Promise<unknown>>();
  /** Batch-settlement sessions whose channel holds an unspent deposit: closed when idle this long. */
  private readonly idleTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private running = 0;

  constructor(
    private readonly deps: AgentDeps,
    private readonly memory: SessionMemory,
    readonly model: ModelFactory,
  ) {}

  /** True while any turn runs (`/ping` answers HealthyBusy). */
  get busy(): boolean {
    return this.running > 0;
  }

  /** Queues a turn behind the session's previous one. */
  invoke(sessionId: string, prompt: string): Promise<InvocationOutput> {
    return this.queue(sessionId, () => this.runTurn(sessionId, prompt));
  }

  /**
   * Ends a session without a model turn (the idle timer): a batch-settlement session's unspent
   * deposit is refunded, as the end_session tool does. Queued behind the session's turns.
   */
  endSession(sessionId: string): Promise<Record<string, unknown>> {
    return this.queue(sessionId, async () => {
      const record = await this.memory.load(sessionId);
      if (!record) return { status: 'ended', message: 'no such session' };
      const ctx = this.contextFor(record, '');
      const reply = await endSessionReply(this.deps, ctx);
      record.updated_at = this.deps.now().toISOString();
      await this.memory.save(record);
      this.deps.log({ event: 'session_ended', session_id: sessionId, reason: 'idle', status: reply.status });
      return reply;
    });
  }

  /** Stops the idle timers (the process is stopping; a restarted session re-arms at its next turn). */
  close(): void {
    for (const timer of this.idleTimers.values()) clearTimeout(timer);
    this.idleTimers.clear();
  }

  private queue<T>(sessionId: string, work: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(sessionId) ?? Promise.resolve();
    const turn = previous.catch(() => undefined).then(work);
    this.queues.set(sessionId, turn);
    const cleanup = () => {
      if (this.queues.get(sessionId) === turn) this.queues.delete(sessionId);
    };
    turn.then(cleanup, cleanup);
    return turn;
  }

  private contextFor(record: SessionRecord, prompt: string): SessionContext {
    return {
      record,
      latestUserText: prompt,
      turnPayments: [],
      turnImageIds: [],
      persist: async () => {
        record.updated_at = this.deps.now().toISOString();
        await this.memory.save(record);
      },
    };
  }

  /** Arms (or clears) the session's idle refund after a turn. */
  private armIdleRefund(record: SessionRecord): void {
    const sessionId = record.session_id;
    const previous = this.idleTimers.get(sessionId);
    if (previous) clearTimeout(previous);
    this.idleTimers.delete(sessionId);
    if (record.channel?.status !== 'open' || channelRemaining(record) === 0n) return;
    const timer = setTimeout(() => {
      this.idleTimers.delete(sessionId);
      this.endSession(sessionId).catch((error: unknown) =>
        this.deps.log({
          level: 'error',
          event: 'idle_refund_failed',
          session_id: sessionId,
          error: String(error),
        }),
      );
    }, this.deps.config.sessionIdleRefundMs);
    timer.unref();
    this.idleTimers.set(sessionId, timer);
  }

  private async runTurn(sessionId: string, prompt: string): Promise<InvocationOutput> {
    this.running += 1;
    try {
      const record = (await this.memory.load(sessionId)) ?? emptySession(sessionId, this.deps.now());
      const before = record.messages;
      record.turn += 1;
      const ctx = this.contextFor(record, prompt);
      const agent = new Agent({
        model: this.model.create(),
        tools: createSessionTools(this.deps, ctx),
        systemPrompt: SYSTEM_PROMPT,
        messages: before as unknown as MessageData[],
        printer: false,
        name: 'x402-image-agent',
      });
      let text: string;
      try {
        const result = await agent.invoke(prompt);
        text = result.lastMessage.content
          .map((block) => (block.type === 'textBlock' ? block.text : ''))
          .join('')
          .trim();
        record.messages = agent.messages.map(
          (message) => message.toJSON() as unknown as Record<string, unknown>,
        );
      } finally {
        // Payments and images made before a failure are real: persist them even when the turn fails
        // (the conversation then stays as it was before the turn). A session with a channel also
        // picks up the seller's claim and settle transactions since the last turn.
        await syncChannelTransactions(this.deps, ctx);
        record.updated_at = this.deps.now().toISOString();
        await this.memory.save(record);
        this.armIdleRefund(record);
      }
      this.deps.log({
        event: 'turn_completed',
        session_id: sessionId,
        model: this.model.id,
        turn: record.turn,
        payments: ctx.turnPayments.length,
        images: ctx.turnImageIds.length,
      });
      const images: Record<string, string> = {};
      for (const id of ctx.turnImageIds) {
        const image = record.images[id];
        const ref = image?.data_url ?? image?.url;
        if (ref) images[id] = ref;
      }
      return {
        message: { role: 'assistant', content: [{ text }] },
        timestamp: this.deps.now().toISOString(),
        model: this.model.id,
        session_id: sessionId,
        images,
        payments: ctx.turnPayments.map((receipt) => this.forPeople(receipt)),
        ...(await this.walletSnapshot()),
        session: this.sessionSpend(record),
      } satisfies InvocationOutput;
    } finally {
      this.running -= 1;
    }
  }

  private forPeople(receipt: PaymentReceipt): OutputReceipt {
    return { ...receipt, network_name: this.deps.config.network.displayName };
  }

  /** The session's latest receipts and its spend against the budget (the chat's session panel). */
  private sessionSpend(record: SessionRecord): InvocationOutput['session'] {
    const budget = this.deps.config.sessionBudget;
    return {
      payments: record.payments.slice(-SESSION_RECEIPTS_LIMIT).map((receipt) => this.forPeople(receipt)),
      payment_count: record.payments.length,
      spent: formatUsdc(BigInt(record.spent)),
      spent_atomic: record.spent,
      budget: formatUsdc(budget),
      budget_atomic: budget.toString(),
      payment_scheme: this.deps.config.paymentScheme,
      ...(record.channel ? { channel: channelSummary(record) } : {}),
    };
  }

  private async walletSnapshot(): Promise<Pick<InvocationOutput, 'wallet'>> {
    const { wallet, config } = this.deps;
    try {
      const { eth, usdc } = await wallet.balances();
      const budget = await this.deps.budget.status().catch(() => undefined);
      return {
        wallet: {
          address: wallet.address,
          network: config.network.v1Name,
          network_name: config.network.displayName,
          chain_id: config.network.chainId,
          eth: formatEth(eth),
          usdc: formatUsdc(usdc),
          ...(budget ? { budget_24h: formatUsdc(budget.cap), spent_24h: formatUsdc(budget.spent) } : {}),
        },
      };
    } catch (error) {
      this.deps.log({ event: 'wallet_snapshot_failed', error: String(error) });
      return {};
    }
  }
}
