/**
 * `npm run demo`: plays the seed's example conversation against the running stack (`npm start`)
 * over the WebSocket API, like the chat page does, and prints each turn with one receipt line per
 * payment (amount, network, explorer link) and the session's spend. Exits non-zero when a turn
 * fails or the image is not paid for.
 */
import { randomUUID } from 'node:crypto';
import { textWithoutReceiptUrls } from '@agentic-payments/x402';
import { ChatClient, DEMO_CONVERSATION, replyText } from './lib/chat-client.ts';
import { loadStartConfig } from './lib/config.ts';
import { REPO_ROOT } from './lib/frontend.ts';
import { describe, readStackInfo } from './lib/stack.ts';

const say = (line = '') => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const config = loadStartConfig(process.env, REPO_ROOT);
  const info = readStackInfo(config.DATA_DIR);
  if (!info) {
    throw new Error(`no running stack found in ${config.DATA_DIR} (start it first with "npm start")`);
  }
  const sessionId = `demo-${randomUUID()}`;
  say(`demo: session ${sessionId} over ${info.websocketUrl}`);
  const client = await ChatClient.connect(info.websocketUrl);
  let paid = 0;
  let spend: { spent: string; budget: string } | undefined;
  try {
    for (const prompt of DEMO_CONVERSATION) {
      say();
      say(`User: ${prompt}`);
      const output = await client.ask(sessionId, prompt);
      const payments = output.payments ?? [];
      // The receipt lines below carry the link; the reply's text does not repeat it.
      const text = textWithoutReceiptUrls(replyText(output), payments);
      say(`Agent: ${text.replaceAll('\n', '\n       ')}`);
      for (const payment of payments) {
        paid += 1;
        say(`  receipt: paid ${payment.amount} USDC on ${payment.network_name ?? payment.network}`);
        say(`           ${payment.explorer_url ?? payment.transaction_hash}`);
      }
      if (output.session) spend = output.session;
      for (const [id, url] of Object.entries(output.images ?? {})) {
        say(`  image ${id}: ${url.startsWith('data:') ? `${url.slice(0, 40)}...` : url}`);
      }
    }
  } finally {
    client.close();
  }
  say();
  if (paid === 0) throw new Error('the conversation finished without a settled payment');
  say(
    `demo complete: ${paid} payment(s) settled${spend ? `; the session spent ${spend.spent} of its ${spend.budget} USDC budget` : ''}.`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${describe(error)}\n`);
  process.exit(1);
});
