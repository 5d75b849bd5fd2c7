import { type FormEvent, type ReactNode, useCallback, useEffect, useRef, useState } from 'react';
import {
  type AgentTurn,
  type ChannelBalance,
  END_SESSION_PROMPT,
  explorerLink,
  newSessionId,
  type PaymentReceipt,
  receiptKey,
  type ServerFrame,
  type SessionSpend,
  type WalletSnapshot,
} from './protocol.ts';
import { loadRuntimeConfig, type RuntimeConfig } from './runtime-config.ts';
import { type ConnectionStatus, useChatSocket } from './use-chat-socket.ts';

const MAX_PROMPT_CHARS = 1024;
const SESSION_KEY = 'agentic-payments.session';
const WALLET_PROMPT = 'What are my wallet details?';

type EntryInput =
  | { kind: 'user'; text: string }
  | { kind: 'agent'; turn: AgentTurn }
  | { kind: 'error'; code: string; text: string };
type ChatEntry = EntryInput & { id: number };

function initialSession(): string {
  const stored = sessionStorage.getItem(SESSION_KEY);
  if (stored && /^[A-Za-z0-9._:-]{1,128}$/.test(stored)) return stored;
  const fresh = newSessionId();
  sessionStorage.setItem(SESSION_KEY, fresh);
  return fresh;
}

export function App() {
  const [config, setConfig] = useState<RuntimeConfig | undefined>();
  const [configError, setConfigError] = useState<string | undefined>();
  useEffect(() => {
    loadRuntimeConfig().then(setConfig, (error: unknown) =>
      setConfigError(error instanceof Error ? error.message : String(error)),
    );
  }, []);
  if (configError) {
    return (
      <main className="fatal" role="alert">
        <h1>Cannot start the chat</h1>
        <p>
          The page has no WebSocket URL: build it with <code>VITE_WS_URL</code> or serve it with a{' '}
          <code>/config.json</code> ({configError}).
        </p>
      </main>
    );
  }
  return config ? <Chat config={config} /> : <main className="fatal">Loading…</main>;
}

function Chat({ config }: { config: RuntimeConfig }) {
  const [sessionId, setSessionId] = useState(initialSession);
  const [entries, setEntries] = useState<ChatEntry[]>([]);
  const [pending, setPending] = useState<
    { since: number; elapsedMs: number; acknowledged: boolean } | undefined
  >();
  const [wallet, setWallet] = useState<WalletSnapshot | undefined>();
  const [spend, setSpend] = useState<SessionSpend | undefined>();
  // At phone width the wallet/session panel folds away behind a button (CSS hides it otherwise).
  const [panelOpen, setPanelOpen] = useState(false);
  const [prompt, setPrompt] = useState('');
  const nextId = useRef(1);
  const pendingRef = useRef(pending);
  pendingRef.current = pending;
  const sessionRef = useRef(sessionId);
  sessionRef.current = sessionId;

  const add = useCallback((entry: EntryInput) => {
    const id = nextId.current++;
    setEntries((list) => [...list, { ...entry, id }]);
  }, []);

  const onFrame = useCallback(
    (frame: ServerFrame) => {
      // A frame of an abandoned session (New Session while a turn ran) is not this chat's.
      if (frame.sessionId && frame.sessionId !== sessionRef.current) return;
      switch (frame.type) {
        case 'processing':
          setPending((p) => ({ since: p?.since ?? Date.now(), elapsedMs: 0, acknowledged: true }));
          break;
        case 'progress':
          setPending((p) => ({
            since: p?.since ?? Date.now(),
            elapsedMs: frame.elapsedMs ?? 0,
            acknowledged: true,
          }));
          break;
        case 'complete':
          setPending(undefined);
          add({ kind: 'agent', turn: frame.turn });
          if (frame.turn.wallet) setWallet(frame.turn.wallet);
          if (frame.turn.session) setSpend(frame.turn.session);
          break;
        case 'error':
          setPending(undefined);
          add({ kind: 'error', code: frame.code, text: frame.message });
          break;
      }
    },
    [add],
  );

  const onDrop = useCallback(() => {
    if (!pendingRef.current) return;
    setPending(undefined);
    add({
      kind: 'error',
      code: 'connection_lost',
      text: 'The connection dropped while the agent was working. The turn may still have finished on the server (a payment may have been made): ask for your wallet details before retrying.',
    });
  }, [add]);

  const { status, retryInMs, send, reconnectNow } = useChatSocket(config.wsUrl, { onFrame, onDrop });

  const submit = (text: string) => {
    const trimmed = text.trim();
    if (!trimmed || pending) return;
    if (trimmed.length > MAX_PROMPT_CHARS) {
      add({
        kind: 'error',
        code: 'prompt_too_long',
        text: `A prompt must be at most ${MAX_PROMPT_CHARS} characters.`,
      });
      return;
    }
    if (!send({ input: { prompt: trimmed }, session_id: sessionId })) {
      add({ kind: 'error', code: 'not_connected', text: 'Not connected yet; your message was not sent.' });
      return;
    }
    add({ kind: 'user', text: trimmed });
    setPending({ since: Date.now(), elapsedMs: 0, acknowledged: false });
    setPrompt('');
  };

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    submit(prompt);
  };

  const startNewSession = () => {
    // Leaving a payment session with money in its channel: ask the agent to end it (the refund). Its
    // reply belongs to the old session, so the new chat does not show it.
    if (spend?.channel?.status === 'open' && Number(spend.channel.remaining) > 0) {
      send({ input: { prompt: END_SESSION_PROMPT }, session_id: sessionId });
    }
    const fresh = newSessionId();
    sessionStorage.setItem(SESSION_KEY, fresh);
    setSessionId(fresh);
    setEntries([]);
    setPending(undefined);
    setWallet(undefined);
    setSpend(undefined);
  };

  const log = useRef<HTMLOListElement>(null);
  // biome-ignore lint/correctness/useExhaustiveDependencies: scroll when entries or pending change
  useEffect(() => {
    log.current?.lastElementChild?.scrollIntoView({ block: 'end', behavior: 'smooth' });
  }, [entries, pending]);

  return (
    <div className="app">
      <header className="bar">
        <div className="brand">
          <span className="logo" aria-hidden="true">
            ◆
          </span>
          <div>
            <h1>Agentic Payments</h1>
            <p className="tagline">Pay-per-use AI images, paid in USDC over x402</p>
          </div>
        </div>
        <div className="bar-actions">
          <StatusBadge status={status} retryInMs={retryInMs} onRetry={reconnectNow} />
          <button
            type="button"
            className="secondary panel-toggle"
            aria-expanded={panelOpen}
            aria-controls="side-panel"
            title="Wallet and session spend"
            onClick={() => setPanelOpen((open) => !open)}
            data-testid="panel-toggle"
          >
            {panelOpen ? 'Back to chat' : spend ? `${spend.spent} / ${spend.budget} USDC` : 'Wallet'}
          </button>
          <button type="button" className="secondary" onClick={startNewSession} data-testid="new-session">
            New Session
          </button>
        </div>
      </header>

      <div className={panelOpen ? 'layout panel-open' : 'layout'}>
        <main className="chat" data-testid="conversation">
          <ol className="log" ref={log} aria-live="polite" data-testid="messages">
            {entries.length === 0 && (
              <li className="empty">
                <p>Ask the agent what it can do, check your wallet, or describe an image to generate.</p>
                <div className="suggestions">
                  {[
                    'What can you help me with?',
                    WALLET_PROMPT,
                    'Generate an image of a futuristic city at sunset',
                  ].map((s) => (
                    <button
                      key={s}
                      type="button"
                      className="chip"
                      onClick={() => submit(s)}
                      disabled={status !== 'open'}
                    >
                      {s}
                    </button>
                  ))}
                </div>
              </li>
            )}
            {entries.map((entry) => (
              <Entry key={entry.id} entry={entry} explorerUrl={config.explorerUrl} />
            ))}
            {pending && (
              <li
                className="msg agent working"
                data-testid="working"
                data-phase={pending.acknowledged ? 'processing' : 'sent'}
              >
                <span className="dots" aria-hidden="true">
                  <i />
                  <i />
                  <i />
                </span>
                The agent is working…{' '}
                {pending.elapsedMs > 0 ? `${Math.round(pending.elapsedMs / 1000)} s` : ''}
              </li>
            )}
          </ol>

          <form className="composer" onSubmit={onSubmit}>
            <textarea
              value={prompt}
              onChange={(e) => setPrompt(e.target.value)}
              onKeyDown={(e) => {
                if (e.key === 'Enter' && !e.shiftKey) {
                  e.preventDefault();
                  submit(prompt);
                }
              }}
              placeholder={status === 'open' ? 'Message the agent…' : 'Waiting for the connection…'}
              aria-label="Prompt"
              rows={2}
              data-testid="prompt"
            />
            <div className="composer-side">
              <span className={prompt.length > MAX_PROMPT_CHARS ? 'count over' : 'count'}>
                {prompt.length}/{MAX_PROMPT_CHARS}
              </span>
              <button
                type="submit"
                disabled={
                  status !== 'open' || !!pending || !prompt.trim() || prompt.length > MAX_PROMPT_CHARS
                }
                data-testid="send"
              >
                Send
              </button>
            </div>
          </form>
        </main>

        <aside className="side" id="side-panel" data-testid="side-panel">
          <WalletPanel
            wallet={wallet}
            onRefresh={() => submit(WALLET_PROMPT)}
            disabled={status !== 'open' || !!pending}
          />
          <SessionPanel sessionId={sessionId} spend={spend} explorerUrl={config.explorerUrl} />
        </aside>
      </div>
    </div>
  );
}

function StatusBadge(props: {
  status: ConnectionStatus;
  retryInMs: number | undefined;
  onRetry: () => void;
}) {
  const label = {
    connecting: 'Connecting…',
    open: 'Connected',
    reconnecting: props.retryInMs
      ? `Reconnecting in ${Math.ceil(props.retryInMs / 1000)} s`
      : 'Reconnecting…',
    offline: 'Offline',
  }[props.status];
  return (
    <span className={`status ${props.status}`} data-testid="connection-status" data-status={props.status}>
      <span className="dot" aria-hidden="true" />
      {label}
      {props.status !== 'open' && props.status !== 'connecting' && (
        <button type="button" className="link" onClick={props.onRetry}>
          retry now
        </button>
      )}
    </span>
  );
}

function Entry({ entry, explorerUrl }: { entry: ChatEntry; explorerUrl: string | undefined }) {
  if (entry.kind === 'user') {
    return (
      <li className="msg user">
        <Text text={entry.text} />
      </li>
    );
  }
  if (entry.kind === 'error') {
    return (
      <li className="msg error" role="alert" data-testid="error" data-code={entry.code}>
        <strong>Error</strong> <code>{entry.code}</code>
        <p>{entry.text}</p>
      </li>
    );
  }
  const { turn } = entry;
  return (
    <li className="msg agent" data-testid="agent-message">
      <Text text={turn.text} />
      {turn.images.map((image) => (
        <figure key={image.id} className="image">
          <a href={image.url} target="_blank" rel="noreferrer">
            <img
              src={image.url}
              alt={`Generated for this prompt (${image.id})`}
              data-testid="generated-image"
            />
          </a>
          <figcaption className="mono small">{image.id}</figcaption>
        </figure>
      ))}
      {turn.payments.map((receipt, index) => (
        <Receipt key={receiptKey(receipt, index)} receipt={receipt} explorerUrl={explorerUrl} />
      ))}
    </li>
  );
}

function Receipt({ receipt, explorerUrl }: { receipt: PaymentReceipt; explorerUrl: string | undefined }) {
  return (
    <div className="receipt" data-testid="receipt" data-kind={receipt.kind ?? 'payment'}>
      <span className="paid">{receiptLabel(receipt)}</span>
      <span className="muted small" data-testid="receipt-network">
        on {receipt.networkName}
      </span>
      <TxLink receipt={receipt} explorerUrl={explorerUrl} testId="tx-link" />
    </div>
  );
}

/** What a receipt was: a payment, a session's deposit, an image charged by voucher, a refund, or the seller's claim or settle. */
function receiptLabel(receipt: PaymentReceipt): string {
  switch (receipt.kind) {
    case 'deposit':
      return `Deposited ${receipt.amount} USDC (session)`;
    case 'voucher':
      return `Charged ${receipt.amount} USDC (voucher)`;
    case 'refund':
      return `Refunded ${receipt.amount} USDC`;
    case 'claim':
      return 'Seller claimed the session’s charges (batch)';
    case 'settle':
      return 'Seller paid out what it claimed (settle)';
    default:
      return `Paid ${receipt.amount} USDC`;
  }
}

function TxLink(props: { receipt: PaymentReceipt; explorerUrl: string | undefined; testId: string }) {
  const { receipt } = props;
  if (!receipt.transactionHash) {
    return (
      <span className="muted small" data-testid={`${props.testId}-none`}>
        no transaction of its own: claimed later in a batch
      </span>
    );
  }
  const link = explorerLink(receipt, props.explorerUrl);
  const short = `${receipt.transactionHash.slice(0, 10)}…${receipt.transactionHash.slice(-8)}`;
  return link ? (
    <a href={link} target="_blank" rel="noreferrer" className="mono" data-testid={props.testId}>
      {short} ↗
    </a>
  ) : (
    <span className="mono">{short}</span>
  );
}

/** A payment session's channel balance: deposited once, charged per image, the rest refunded at the end. */
function ChannelPanel({ channel }: { channel: ChannelBalance }) {
  return (
    <dl className="channel" data-testid="session-channel" data-status={channel.status}>
      <dt>Deposited</dt>
      <dd data-testid="channel-deposited">{channel.deposited} USDC</dd>
      <dt>Charged</dt>
      <dd data-testid="channel-charged">{channel.charged} USDC</dd>
      <dt>{channel.status === 'open' ? 'Remaining' : 'Refunded'}</dt>
      <dd data-testid="channel-remaining">
        {channel.status === 'open' ? channel.remaining : channel.refunded} USDC
      </dd>
    </dl>
  );
}

/** The session's spend against its budget and each of its receipts (output.session). */
function SessionPanel(props: {
  sessionId: string;
  spend: SessionSpend | undefined;
  explorerUrl: string | undefined;
}) {
  const { spend } = props;
  const hidden = spend ? spend.paymentCount - spend.payments.length : 0;
  return (
    <section className="panel" data-testid="session">
      <h2>Session</h2>
      <p className="mono small" data-testid="session-id">
        {props.sessionId}
      </p>
      {spend ? (
        <>
          <p className="spend" data-testid="session-spend">
            Spent <strong>{spend.spent}</strong> of {spend.budget} USDC
          </p>
          <meter className="budget" min={0} max={Number(spend.budget) || 1} value={Number(spend.spent)} />
          {spend.channel ? <ChannelPanel channel={spend.channel} /> : null}
          {spend.payments.length > 0 ? (
            <ol className="receipts">
              {hidden > 0 && <li className="small muted">{hidden} earlier payment(s) not shown</li>}
              {spend.payments.map((receipt, index) => (
                <li
                  key={receiptKey(receipt, index)}
                  data-testid="session-receipt"
                  data-kind={receipt.kind ?? 'payment'}
                >
                  <span className="paid">{receiptLabel(receipt)}</span>{' '}
                  <TxLink receipt={receipt} explorerUrl={props.explorerUrl} testId="session-tx-link" />
                </li>
              ))}
            </ol>
          ) : (
            <p className="small muted">No payments in this session yet.</p>
          )}
        </>
      ) : (
        <p className="small muted">Each session has its own conversation, budget and images.</p>
      )}
    </section>
  );
}

function WalletPanel(props: {
  wallet: WalletSnapshot | undefined;
  onRefresh: () => void;
  disabled: boolean;
}) {
  const { wallet } = props;
  return (
    <section className="panel" data-testid="wallet">
      <div className="panel-head">
        <h2>Wallet</h2>
        <button type="button" className="secondary small" onClick={props.onRefresh} disabled={props.disabled}>
          Wallet
        </button>
      </div>
      {wallet ? (
        <dl>
          <dt>Address</dt>
          <dd className="mono small" title={wallet.address}>
            {wallet.address}
          </dd>
          <dt>Network</dt>
          <dd data-testid="wallet-network">
            {wallet.networkName}
            {wallet.chainId && !wallet.networkName.includes(String(wallet.chainId))
              ? ` (chain ${wallet.chainId})`
              : ''}
          </dd>
          <dt>USDC</dt>
          <dd className="balance" data-testid="wallet-usdc">
            {wallet.usdc ?? '—'}
          </dd>
          <dt>ETH</dt>
          <dd>{wallet.eth ?? '—'}</dd>
          {wallet.budget24h ? <dt>Spent (24 h)</dt> : null}
          {wallet.budget24h ? (
            <dd data-testid="wallet-budget">{`${wallet.spent24h ?? '—'} of ${wallet.budget24h} USDC`}</dd>
          ) : null}
        </dl>
      ) : (
        <p className="small muted">Ask “{WALLET_PROMPT}” to see the agent's wallet and balances.</p>
      )}
    </section>
  );
}

/** Plain text with http(s) URLs turned into links; no HTML from the agent is ever rendered. */
function Text({ text }: { text: string }) {
  const parts: ReactNode[] = [];
  const pattern = /https?:\/\/[^\s<>()"']+/g;
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    const index = match.index ?? 0;
    if (index > last) parts.push(text.slice(last, index));
    parts.push(
      <a key={index} href={match[0]} target="_blank" rel="noreferrer">
        {match[0]}
      </a>,
    );
    last = index + match[0].length;
  }
  if (last < text.length) parts.push(text.slice(last));
  return <p className="text">{parts}</p>;
}
