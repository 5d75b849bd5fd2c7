import { formatUsdc } from '@agentic-payments/x402';
import { Agent, type MessageData } from '@strands-agents/sdk';
import type { ModelFactory } from './models.ts';
import type { AgentDeps, SessionContext } from './session-context.ts';
import type { SessionMemory } from './session-memory.ts';
import { emptySession, type PaymentReceipt } from './session-state.ts';
import { SYSTEM_PROMPT } from './system-prompt.ts';
import { createSessionTools } from './tools.ts';

/** The AgentCore `output` object, plus `payments` and `wallet` (docs/CONVENTIONS.md). */
export interface InvocationOutput {
  message: { role: 'assistant'; content: { text: string }[] };
  timestamp: string;
  model: string;
  session_id: string;
  images: Record<string, string>;
  payments: PaymentReceipt[];
  wallet?: {
    address: string;
    network: string;
    chain_id: number;
    eth: string;
    usdc: string;
    /** WALLET_BUDGET_24H_USDC and what all sessions spent in the last 24 hours (decimal USDC). */
    budget_24h?: string;
    spent_24h?: string;
  };
}

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
    const previous = this.queues.get(sessionId) ?? Promise.resolve();
    const turn = previous.catch(() => undefined).then(() => this.runTurn(sessionId, prompt));
    this.queues.set(sessionId, turn);
    const cleanup = () => {
      if (this.queues.get(sessionId) === turn) this.queues.delete(sessionId);
    };
    turn.then(cleanup, cleanup);
    return turn;
  }

  private async runTurn(sessionId: string, prompt: string): Promise<InvocationOutput> {
    this.running += 1;
    try {
      const record = (await this.memory.load(sessionId)) ?? emptySession(sessionId, this.deps.now());
      const before = record.messages;
      record.turn += 1;
      const ctx: SessionContext = { record, latestUserText: prompt, turnPayments: [], turnImageIds: [] };
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
        // (the conversation then stays as it was before the turn).
        record.updated_at = this.deps.now().toISOString();
        await this.memory.save(record);
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
        payments: ctx.turnPayments,
        ...(await this.walletSnapshot()),
      };
    } finally {
      this.running -= 1;
    }
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
