/**
 * `npm run demo`: plays the seed's example conversation against the running stack (`npm start`)
 * over the WebSocket API, like the chat page does, and prints each turn with one receipt line per
 * payment (amount, network, explorer link) and the session's spend. Exits non-zero when a turn
 * fails or the image is not paid for.
 *
 * `npm run demo -- --scheme batch-settlement` plays it as a payment session, against a stack started
 * with `PAYMENT_SCHEME=batch-settlement npm start`: one deposit, a voucher per image, and the refund
 * of the rest when the session ends. The scheme is the agent's setting, so the demo checks that the
 * running stack pays that way rather than assuming it.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import {
  type AgentPaymentReceipt,
  type AgentSessionSpend,
  textWithoutReceiptUrls,
} from '@agentic-payments/x402';
import { ChatClient, DEMO_CONVERSATION, DEMO_SESSION_CONVERSATION, replyText } from './lib/chat-client.ts';
import { loadStartConfig } from './lib/config.ts';
import { REPO_ROOT } from './lib/frontend.ts';
import { describe, readStackInfo } from './lib/stack.ts';

const say = (line = '') => process.stdout.write(`${line}\n`);

const SCHEMES = ['exact', 'batch-settlement'] as const;
type Scheme = (typeof SCHEMES)[number];

function readScheme(argv: string[]): Scheme {
  const { values } = parseArgs({ args: argv, options: { scheme: { type: 'string', default: 'exact' } } });
  const scheme = SCHEMES.find((s) => s === values.scheme);
  if (!scheme) throw new Error(`--scheme must be one of ${SCHEMES.join(', ')}, got ${values.scheme}`);
  return scheme;
}

/** One line per receipt: what it was, and its transaction (a voucher has none of its own). */
function receiptLines(payment: AgentPaymentReceipt): string[] {
  const where = `on ${payment.network_name ?? payment.network}`;
  const link = payment.explorer_url ?? payment.transaction_hash ?? '';
  switch (payment.kind) {
    case 'deposit':
      return [
        `  receipt: deposited ${payment.amount} USDC into the session channel ${where}`,
        `           ${link}`,
      ];
    case 'voucher':
      return [
        `  receipt: charged ${payment.amount} USDC by voucher (no transaction of its own; the seller claims it in a batch)`,
      ];
    case 'refund':
      return [`  receipt: refunded ${payment.amount} USDC to the wallet ${where}`, `           ${link}`];
    default:
      return [`  receipt: paid ${payment.amount} USDC ${where}`, `           ${link}`];
  }
}

async function main(): Promise<void> {
  const scheme = readScheme(process.argv.slice(2));
  const config = loadStartConfig(process.env, REPO_ROOT);
  const info = readStackInfo(config.DATA_DIR);
  if (!info) {
    throw new Error(`no running stack found in ${config.DATA_DIR} (start it first with "npm start")`);
  }
  const startHint = `start the stack with "PAYMENT_SCHEME=${scheme} npm start"`;
  if ((info.paymentScheme ?? 'exact') !== scheme) {
    throw new Error(
      `the running stack pays with ${info.paymentScheme ?? 'exact'}, not ${scheme}: ${startHint}`,
    );
  }
  const conversation = scheme === 'batch-settlement' ? DEMO_SESSION_CONVERSATION : DEMO_CONVERSATION;
  const sessionId = `demo-${randomUUID()}`;
  say(`demo: session ${sessionId} over ${info.websocketUrl}`);
  const client = await ChatClient.connect(info.websocketUrl);
  let paid = 0;
  const kinds: string[] = [];
  let spend: AgentSessionSpend | undefined;
  try {
    for (const prompt of conversation) {
      say();
      say(`User: ${prompt}`);
      const output = await client.ask(sessionId, prompt);
      const payments = output.payments ?? [];
      // The receipt lines below carry the link; the reply's text does not repeat it.
      const text = textWithoutReceiptUrls(replyText(output), payments);
      say(`Agent: ${text.replaceAll('\n', '\n       ')}`);
      for (const payment of payments) {
        if (payment.kind === undefined || payment.kind === 'voucher') paid += 1;
        kinds.push(payment.kind ?? 'payment');
        for (const line of receiptLines(payment)) say(line);
      }
      if (output.session) spend = output.session;
      if (output.session?.payment_scheme && output.session.payment_scheme !== scheme) {
        throw new Error(`the agent paid with ${output.session.payment_scheme}, not ${scheme}: ${startHint}`);
      }
      for (const [id, url] of Object.entries(output.images ?? {})) {
        say(`  image ${id}: ${url.startsWith('data:') ? `${url.slice(0, 40)}...` : url}`);
      }
    }
  } finally {
    client.close();
  }
  say();
  if (paid === 0) throw new Error('the conversation finished without a settled payment');
  if (scheme === 'batch-settlement') {
    const count = (kind: string) => kinds.filter((k) => k === kind).length;
    if (count('deposit') !== 1 || count('refund') !== 1) {
      throw new Error(
        `a payment session makes one deposit and one refund; this one made ${kinds.join(', ')}`,
      );
    }
    const left = spend?.channel?.refunded;
    say(
      `demo complete: ${paid} image(s) paid by voucher from one deposit${spend ? `; the session spent ${spend.spent} of its ${spend.budget} USDC budget` : ''}${left ? ` and ${left} USDC was refunded` : ''}.`,
    );
    return;
  }
  say(
    `demo complete: ${paid} payment(s) settled${spend ? `; the session spent ${spend.spent} of its ${spend.budget} USDC budget` : ''}.`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${describe(error)}\n`);
  process.exit(1);
});
