import { Hono } from 'hono';
import { SESSION_HEADER } from './app.ts';
import type { ModelFactory } from './models.ts';
import { OFFLINE_PLANNER_NOTE } from './offline-planner.ts';

/** Why the agent has no wallet yet; `/ping` and `/invocations` name it. */
export interface WalletProblem {
  error: 'wallet_not_configured' | 'wallet_unavailable';
  /** Secret keys that are absent or empty (e.g. the stack's generated placeholder). */
  missing: string[];
  message: string;
}

export type WalletState =
  | { state: 'resolving' }
  | { state: 'ready'; address: `0x${string}`; provider: string }
  | { state: 'failed'; problem: WalletProblem };

export interface WalletGateDeps {
  model: ModelFactory;
  walletState: () => WalletState;
  /** The AgentCore app once the wallet is open. */
  ready: () => Hono | undefined;
  /** Opens the wallet (or joins the attempt in flight); undefined when it failed. */
  openWallet: () => Promise<Hono | undefined>;
}

/**
 * The server's front door while the wallet is being opened. The agent listens at once (AgentCore
 * needs `/ping` within seconds of the container start); the wallet is resolved afterwards. Until it
 * is open `/ping` answers Healthy with a `wallet` field, and `/invocations` waits for it; when the
 * wallet cannot be opened (a placeholder CDP secret, wrong credentials) `/ping` names the reason and
 * `/invocations` replies with it as the assistant's message (`output.error`, `output.missing`); each
 * new invocation tries again. Once open, every request goes to the AgentCore app.
 */
export function createWalletGate(deps: WalletGateDeps): Hono {
  const gate = new Hono();

  gate.get('/ping', (c) => {
    const app = deps.ready();
    if (app) return app.fetch(c.req.raw);
    const wallet = deps.walletState();
    return c.json({
      status: 'Healthy',
      time_of_last_update: Math.floor(Date.now() / 1000),
      model: deps.model.id,
      model_is_llm: deps.model.isLlm,
      ...(deps.model.isLlm ? {} : { model_note: OFFLINE_PLANNER_NOTE }),
      ...(wallet.state === 'failed'
        ? {
            wallet: wallet.problem.error,
            missing: wallet.problem.missing,
            message: wallet.problem.message,
          }
        : { wallet: wallet.state }),
    });
  });

  gate.all('*', async (c) => {
    const invocation = c.req.method === 'POST' && c.req.path === '/invocations';
    const app = deps.ready() ?? (invocation ? await deps.openWallet() : undefined);
    if (app) return app.fetch(c.req.raw);
    if (!invocation) {
      return c.json({ error: 'not_found', message: `no route ${c.req.method} ${c.req.path}` }, 404);
    }
    const wallet = deps.walletState();
    if (wallet.state !== 'failed') {
      return c.json(
        { error: 'wallet_resolving', message: 'the agent is still opening its wallet; try again shortly' },
        503,
      );
    }
    // A reply, not an HTTP error: a container's 5xx may reach the caller of InvokeAgentRuntime only as
    // an error without this body (the WebSocket Lambda shows "The agent rejected the request."), and
    // the operator's fix (the key to put into the secret) would never reach the chat. The
    // `error` field keeps it machine-readable; the log line (wallet_not_configured) keeps it visible.
    const { error, missing, message } = wallet.problem;
    const body = await c.req.json().catch(() => undefined);
    const sessionId =
      (body && typeof body === 'object' && typeof (body as { session_id?: unknown }).session_id === 'string'
        ? (body as { session_id: string }).session_id
        : undefined) ??
      c.req.header(SESSION_HEADER) ??
      '';
    return c.json({
      output: {
        message: { role: 'assistant', content: [{ text: message }] },
        timestamp: new Date().toISOString(),
        model: deps.model.id,
        session_id: sessionId,
        images: {},
        payments: [],
        error,
        missing,
      },
    });
  });
  return gate;
}
