// The chat page in real Chromium against the real local WebSocket host, with a TEST FAKE agent:
// UI behaviour (rendering, errors, reconnect after a drop, a drop in the middle of a turn).
// The whole stack with the real agent is full-stack.browser.test.ts.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocalWebSocketHost, startLocalWebSocketHost } from '@agentic-payments/realtime';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { END_SESSION_PROMPT } from '../../frontend/src/protocol.ts';
import { artifactPath, buildChatPage, launchChromium } from './browser.ts';
import { startFakeAgent, TEAL_PNG_BASE64 } from './fake-agent.ts';

const TX = `0x${'c3'.repeat(32)}`;
const EXPLORER_TX = `http://127.0.0.1:9/tx/${TX}`;
const DEVNET = 'Local devnet — Base Sepolia stand-in (chain 84532)';
const RECEIPT = {
  transaction_hash: TX,
  amount: '0.04',
  atomic_amount: '40000',
  network: 'base-sepolia',
  network_name: DEVNET,
  explorer_url: EXPLORER_TX,
};
const sessionSpend = (payments: (typeof RECEIPT)[]) => ({
  payments,
  payment_count: payments.length,
  spent: payments.length ? '0.04' : '0',
  spent_atomic: payments.length ? '40000' : '0',
  budget: '1',
  budget_atomic: '1000000',
});

function reply(text: string, extra: Record<string, unknown> = {}) {
  return {
    output: {
      message: { role: 'assistant', content: [{ text }] },
      timestamp: new Date().toISOString(),
      model: 'test-fake-agent',
      session_id: 'x',
      images: {},
      ...extra,
    },
  };
}

const CHANNEL = `0x${'d4'.repeat(32)}`;
const DEPOSIT_TX = `0x${'d5'.repeat(32)}`;
const channelReceipt = { network: 'base-sepolia', network_name: DEVNET, channel_id: CHANNEL };
const DEPOSIT = {
  ...channelReceipt,
  kind: 'deposit',
  transaction_hash: DEPOSIT_TX,
  amount: '1',
  atomic_amount: '1000000',
};
const VOUCHER = {
  ...channelReceipt,
  kind: 'voucher',
  amount: '0.04',
  atomic_amount: '40000',
  image_id: 'img-teal',
};
/** The seller's claim and settle of the session's channel, as the agent reports them (amount 0). */
const CLAIM = {
  ...channelReceipt,
  kind: 'claim',
  transaction_hash: `0x${'c1'.repeat(32)}`,
  amount: '0',
  atomic_amount: '0',
};
const SETTLE = { ...CLAIM, kind: 'settle', transaction_hash: `0x${'5e'.repeat(32)}` };

/** A batch-settlement session's turn: the deposit and a voucher (open), or the session ended (closed). */
function channelReply(status: 'open' | 'closed') {
  return reply(status === 'open' ? 'Paid with a voucher.' : 'Refunded.', {
    payments: status === 'open' ? [DEPOSIT, VOUCHER] : [],
    session: {
      payments: [DEPOSIT, VOUCHER],
      payment_count: 2,
      spent: '0.04',
      spent_atomic: '40000',
      budget: '1',
      budget_atomic: '1000000',
      payment_scheme: 'batch-settlement',
      channel: {
        channel_id: CHANNEL,
        status,
        deposited: '1',
        deposited_atomic: '1000000',
        charged: '0.04',
        charged_atomic: '40000',
        refunded: status === 'open' ? '0' : '0.96',
        refunded_atomic: status === 'open' ? '0' : '960000',
        remaining: status === 'open' ? '0.96' : '0',
        remaining_atomic: status === 'open' ? '960000' : '0',
        deposit_transaction: DEPOSIT_TX,
      },
    },
  });
}

let agent: Awaited<ReturnType<typeof startFakeAgent>>;
let host: LocalWebSocketHost;
let browser: Browser;
let page: Page;
let dataDir: string;
let staticDir: string;

beforeAll(async () => {
  [staticDir, dataDir] = await Promise.all([buildChatPage(), mkdtemp(join(tmpdir(), 'chat-page-data-'))]);
  agent = await startFakeAgent((prompt) => {
    if (prompt.startsWith('slow')) return { delayMs: 1500, body: reply('finally done') };
    if (prompt.startsWith('session image')) return { body: channelReply('open') };
    if (prompt.startsWith('session claimed'))
      return { body: reply('The seller claimed and settled.', { payments: [CLAIM, SETTLE] }) };
    if (prompt === END_SESSION_PROMPT) return { body: channelReply('closed') };
    if (prompt.startsWith('fail'))
      return { status: 400, body: { error: 'invalid_request', message: 'prompt refused' } };
    if (prompt.includes('wallet')) {
      return {
        body: reply('Wallet Address: 0x70997970C51812dc3A010C7d01b50e0d17dc79C8', {
          wallet: {
            address: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
            network: 'base-sepolia',
            network_name: DEVNET,
            chain_id: 84532,
            eth: '1.000000',
            usdc: '10.000000',
          },
          session: sessionSpend(agent.prompts.some((p) => p.includes('image')) ? [RECEIPT] : []),
        }),
      };
    }
    return {
      body: reply(`Success! Your image was generated.\n- Transaction: ${TX}\n  ${EXPLORER_TX}`, {
        images: { 'img-teal': `data:image/png;base64,${TEAL_PNG_BASE64}` },
        payments: [RECEIPT],
        session: sessionSpend([RECEIPT]),
        wallet: {
          address: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
          network: 'base-sepolia',
          network_name: DEVNET,
          chain_id: 84532,
          eth: '1.000000',
          usdc: '9.960000',
        },
      }),
    };
  });
  host = await startLocalWebSocketHost({
    port: 0,
    agentUrl: agent.url,
    dataDir,
    staticDir,
    progressIntervalMs: 200,
  });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1200, height: 860 } });
  await page.goto(host.httpUrl);
  await page.getByTestId('connection-status').and(page.locator('[data-status="open"]')).waitFor();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await host?.stop();
  await agent?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
}, 60_000);

async function send(text: string) {
  await page.getByTestId('prompt').fill(text);
  await page.getByTestId('send').click();
}

describe('the chat page (fake agent)', () => {
  it('shows the wallet panel, an inline image and a receipt link from the turn', async () => {
    await send('What are my wallet details?');
    await expect.poll(() => page.getByTestId('wallet-usdc').textContent()).toBe('10.000000');

    await send('Generate an image of a teal square');
    const image = page.getByTestId('generated-image');
    await image.waitFor();
    await expect
      .poll(() => image.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth))
      .toBe(64);
    expect(await image.getAttribute('src')).toContain('/sessions/');
    expect(await page.getByTestId('tx-link').getAttribute('href')).toBe(EXPLORER_TX);
    await expect.poll(() => page.getByTestId('wallet-usdc').textContent()).toBe('9.960000');
    // One receipt per payment: the chip links to the explorer, the text does not repeat the URL.
    const turn = page.getByTestId('agent-message').last();
    expect(await turn.getByTestId('receipt').count()).toBe(1);
    expect(await turn.locator(`a[href="${EXPLORER_TX}"]`).count()).toBe(1);
    expect(await turn.locator('.text').textContent()).toBe('Success! Your image was generated.');
    // People read the devnet's display name; the wire id stays base-sepolia.
    expect(await turn.getByTestId('receipt-network').textContent()).toBe(`on ${DEVNET}`);
    expect(await page.getByTestId('wallet-network').textContent()).toBe(DEVNET);
    expect(await page.getByTestId('session-spend').textContent()).toBe('Spent 0.04 of 1 USDC');
    expect(await page.getByTestId('session-receipt').count()).toBe(1);
    await page.waitForTimeout(400); // let the smooth scroll settle
    await turn.getByTestId('receipt').scrollIntoViewIfNeeded();
    await page.screenshot({ path: await artifactPath('chat-page-fake-agent.png') });
  }, 60_000);

  it('at phone width (390 px) gives the conversation the screen and folds the panel behind a button', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      await page.getByTestId('receipt').last().scrollIntoViewIfNeeded();
      await page.waitForTimeout(400);
      await page.screenshot({ path: await artifactPath('chat-page-fake-agent-phone.png') });
      // The session's spend stays in sight on the button that opens the panel.
      expect(await page.getByTestId('panel-toggle').textContent()).toBe('0.04 / 1 USDC');
      const conversation = await page.getByTestId('conversation').boundingBox();
      expect(conversation?.width).toBe(390);
      expect(await page.getByTestId('side-panel').isVisible()).toBe(false);
      // Nothing sticks out sideways (no horizontal scrolling on a phone).
      const scrollWidth = () =>
        (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document
          .documentElement.scrollWidth;
      expect(await page.evaluate(scrollWidth)).toBe(390);

      await page.getByTestId('panel-toggle').click();
      expect(await page.getByTestId('side-panel').isVisible()).toBe(true);
      expect(await page.getByTestId('session-spend').textContent()).toBe('Spent 0.04 of 1 USDC');
      await page.screenshot({ path: await artifactPath('chat-page-fake-agent-phone-panel.png') });
      await page.getByTestId('panel-toggle').click();
      expect(await page.getByTestId('side-panel').isVisible()).toBe(false);
    } finally {
      await page.setViewportSize({ width: 1200, height: 860 });
    }
  }, 60_000);

  it('shows the server error code when the agent refuses', async () => {
    await send('fail please');
    const error = page.getByTestId('error').last();
    await error.waitFor();
    expect(await error.getAttribute('data-code')).toBe('agent_error');
    expect(await error.textContent()).toContain('prompt refused');
  }, 60_000);

  it('will not send a prompt over 1024 characters', async () => {
    await page.getByTestId('prompt').fill('x'.repeat(1025));
    expect(await page.getByTestId('send').isDisabled()).toBe(true);
    await page.getByTestId('prompt').fill('');
  }, 60_000);

  it('flags a drop in the middle of a turn, reconnects, and the turn ran once', async () => {
    const before = agent.prompts.length;
    await send('slow turn');
    await page.locator('[data-testid="working"][data-phase="processing"]').waitFor();
    const restarted = restartHost();
    const error = page.locator('[data-testid="error"][data-code="connection_lost"]');
    await error.waitFor();
    await restarted;
    await page.locator('[data-testid="connection-status"][data-status="open"]').waitFor({ timeout: 20_000 });
    await expect.poll(() => agent.completed(), { timeout: 5_000 }).toBe(agent.prompts.length);
    expect(agent.prompts.length - before).toBe(1);

    await send('What are my wallet details?');
    await expect.poll(() => page.getByTestId('agent-message').count()).toBe(3);
  }, 60_000);

  it('shows a payment session channel balance, and New Session asks the old session for its refund', async () => {
    await send('session image of a teal square');
    const channel = page.getByTestId('session-channel');
    await channel.waitFor();
    expect(await channel.getAttribute('data-status')).toBe('open');
    expect(
      await Promise.all(
        ['channel-deposited', 'channel-charged', 'channel-remaining'].map((id) =>
          page.getByTestId(id).textContent(),
        ),
      ),
    ).toStrictEqual(['1 USDC', '0.04 USDC', '0.96 USDC']);
    const turn = page.getByTestId('agent-message').last();
    expect(
      await turn.getByTestId('receipt').evaluateAll((els) => els.map((el) => el.getAttribute('data-kind'))),
    ).toStrictEqual(['deposit', 'voucher']);
    // The voucher has no transaction of its own; the deposit links to the explorer.
    expect(await turn.getByTestId('tx-link-none').count()).toBe(1);
    expect(await turn.getByTestId('tx-link').count()).toBe(1);
    // The seller's claim and settle, reported on a later turn: each links its transaction.
    await send('session claimed');
    const claimed = page.getByTestId('agent-message').last();
    await expect.poll(() => claimed.textContent()).toContain('The seller claimed and settled.');
    const receipts = claimed.getByTestId('receipt');
    expect(await receipts.evaluateAll((els) => els.map((el) => el.getAttribute('data-kind')))).toStrictEqual([
      'claim',
      'settle',
    ]);
    expect(await receipts.locator('.paid').allTextContents()).toStrictEqual([
      'Seller claimed the session’s charges (batch)',
      'Seller paid out what it claimed (settle)',
    ]);
    expect(await claimed.getByTestId('tx-link').count()).toBe(2);
    await page.screenshot({ path: await artifactPath('chat-page-payment-session.png') });

    const oldSession = await page.getByTestId('session-id').textContent();
    const before = agent.prompts.length;
    await page.getByTestId('new-session').click();
    await expect.poll(() => agent.prompts.slice(before)).toStrictEqual([END_SESSION_PROMPT]);
    expect(await page.getByTestId('session-id').textContent()).not.toBe(oldSession);
    // The old session's reply is not shown in the new chat.
    await expect.poll(() => agent.completed()).toBe(agent.prompts.length);
    expect(await page.getByTestId('agent-message').count()).toBe(0);
    expect(await page.getByTestId('session-channel').count()).toBe(0);
  }, 60_000);
});

/** A server-side drop: the host goes away (closing every socket) and comes back on the same port. */
async function restartHost() {
  const port = Number(new URL(host.httpUrl).port);
  await host.stop();
  host = await startLocalWebSocketHost({
    port,
    agentUrl: agent.url,
    dataDir,
    staticDir,
    progressIntervalMs: 200,
  });
}
