// The seed's example conversation in real Chromium against the whole local stack, nothing faked:
// devnet (anvil + USDC + explorer) → facilitator → gateway → agent (offline planner) → the local
// API Gateway WebSocket host (same Lambda handlers, dynalite, s3rver) → the built chat page.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningAgent, startAgent } from '@agentic-payments/agent';
import { type Devnet, startDevnet } from '@agentic-payments/devnet';
import {
  createMemoryLogger as facilitatorLogger,
  type RunningFacilitator,
  startFacilitator,
} from '@agentic-payments/facilitator';
import {
  createMemoryLogger as gatewayLogger,
  type RunningGateway,
  startGateway,
} from '@agentic-payments/gateway';
import { type LocalWebSocketHost, startLocalWebSocketHost } from '@agentic-payments/realtime';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifactPath, buildChatPage, launchChromium } from './browser.ts';

const PRICE_ATOMIC = 40_000n; // 1024x1024 standard: $0.04
const DEVNET = 'Local devnet — Base Sepolia stand-in (chain 84532)';

let dataDir: string;
let staticDir: string;
let devnet: Devnet;
let facilitator: RunningFacilitator;
let gateway: RunningGateway;
let agent: RunningAgent;
let host: LocalWebSocketHost;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  [staticDir, dataDir] = await Promise.all([buildChatPage(), mkdtemp(join(tmpdir(), 'full-stack-'))]);
  devnet = await startDevnet({ port: 0, explorerPort: 0, dataDir, quiet: true });
  const explorerUrl = devnet.explorerUrl ?? '';
  facilitator = await startFacilitator({
    rpcUrl: devnet.rpcUrl,
    privateKey: devnet.accounts.settler.privateKey,
    network: 'devnet',
    port: 0,
    logger: facilitatorLogger(),
  });
  gateway = await startGateway({
    port: 0,
    sellerAddress: devnet.accounts.seller.address,
    network: 'devnet',
    facilitatorUrl: facilitator.url,
    dataDir,
    explorerUrl,
    rpcUrl: devnet.rpcUrl,
    logger: gatewayLogger(),
  });
  agent = await startAgent({
    env: {
      AGENT_PORT: '0',
      AGENT_HOST: '127.0.0.1',
      GATEWAY_URL: gateway.url,
      NETWORK: 'devnet',
      RPC_URL: devnet.rpcUrl,
      SELLER_ADDRESS: devnet.accounts.seller.address,
      AGENT_PRIVATE_KEY: devnet.accounts.agent.privateKey,
      DATA_DIR: dataDir,
      EXPLORER_URL: explorerUrl,
    },
    log: () => {},
  });
  host = await startLocalWebSocketHost({ port: 0, agentUrl: agent.url, dataDir, staticDir, explorerUrl });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(host.httpUrl);
  await page.locator('[data-testid="connection-status"][data-status="open"]').waitFor();
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await host?.stop();
  await agent?.stop();
  await gateway?.stop();
  await facilitator?.stop();
  await devnet?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
}, 60_000);

async function ask(prompt: string): Promise<void> {
  const before = await page.getByTestId('agent-message').count();
  await page.getByTestId('prompt').fill(prompt);
  await page.getByTestId('send').click();
  await expect.poll(() => page.getByTestId('agent-message').count(), { timeout: 60_000 }).toBe(before + 1);
  expect(await page.getByTestId('error').count()).toBe(0);
}

describe('the chat page on the whole local stack', () => {
  it('completes the seed conversation: capabilities, wallet details, a paid image with a working tx link', async () => {
    const agentAddress = devnet.accounts.agent.address;
    const sellerAddress = devnet.accounts.seller.address;
    const [agentBefore, sellerBefore] = await Promise.all([
      devnet.usdcBalance(agentAddress),
      devnet.usdcBalance(sellerAddress),
    ]);

    await ask('What can you help me with?');
    expect(await page.getByTestId('agent-message').last().textContent()).toMatch(/image/i);

    await ask('What are my wallet details?');
    expect(await page.getByTestId('agent-message').last().textContent()).toContain(agentAddress);
    const usdcShown = await page.getByTestId('wallet-usdc').textContent();
    expect(Number(usdcShown)).toBeCloseTo(Number(agentBefore) / 1e6, 6);

    await ask('Generate an image of a futuristic city at sunset');
    const turn = page.getByTestId('agent-message').last();
    const image = turn.getByTestId('generated-image');
    await expect
      .poll(() => image.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth), {
        timeout: 15_000,
      })
      .toBeGreaterThan(0);
    expect(await image.getAttribute('src')).toMatch(/\/sessions\/session-[0-9a-f-]+\/.+\?.*X-Amz-Signature=/);

    // Exactly one payment of the price moved on chain.
    const [agentAfter, sellerAfter] = await Promise.all([
      devnet.usdcBalance(agentAddress),
      devnet.usdcBalance(sellerAddress),
    ]);
    expect(agentBefore - agentAfter).toBe(PRICE_ATOMIC);
    expect(sellerAfter - sellerBefore).toBe(PRICE_ATOMIC);
    await expect.poll(() => page.getByTestId('wallet-usdc').textContent()).not.toBe(usdcShown);

    // What a newcomer reads: the devnet by its name, one receipt chip for the one payment (the
    // text does not repeat its link), and the session's spend against its budget.
    expect(await page.getByTestId('wallet-network').textContent()).toBe(DEVNET);
    expect(await page.getByTestId('receipt').count()).toBe(1);
    expect(await turn.getByTestId('receipt-network').textContent()).toBe(`on ${DEVNET}`);
    expect(await turn.locator('.text').textContent()).not.toMatch(/https?:|0x[0-9a-f]{64}/);
    expect(await page.getByTestId('session-spend').textContent()).toBe('Spent 0.04 of 1 USDC');
    expect(await page.getByTestId('session-receipt').count()).toBe(1);

    await page.waitForTimeout(500); // let the smooth scroll settle for the screenshot
    await turn.getByTestId('receipt').scrollIntoViewIfNeeded();
    await page.screenshot({ path: await artifactPath('chat-full-stack.png') });

    // Phone width: the conversation takes the screen, the panel folds behind a button that shows
    // the session's spend.
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      await turn.getByTestId('receipt').scrollIntoViewIfNeeded();
      await page.waitForTimeout(300);
      await page.screenshot({ path: await artifactPath('chat-full-stack-phone.png') });
      expect((await page.getByTestId('conversation').boundingBox())?.width).toBe(390);
      expect(await page.getByTestId('side-panel').isVisible()).toBe(false);
      expect(await page.getByTestId('panel-toggle').textContent()).toBe('0.04 / 1 USDC');
      await page.getByTestId('panel-toggle').click();
      await page.screenshot({ path: await artifactPath('chat-full-stack-phone-panel.png') });
      await page.getByTestId('panel-toggle').click();
    } finally {
      await page.setViewportSize({ width: 1280, height: 900 });
    }

    // The receipt links to the explorer, and the explorer shows the transaction.
    const link = turn.getByTestId('tx-link');
    const href = (await link.getAttribute('href')) ?? '';
    const hash = /\/tx\/(0x[0-9a-fA-F]{64})$/.exec(href)?.[1];
    expect(href.startsWith(`${devnet.explorerUrl}/tx/`)).toBe(true);
    expect(hash).toBeDefined();
    const [explorerPage] = await Promise.all([page.context().waitForEvent('page'), link.click()]);
    await explorerPage.waitForLoadState();
    const explorerText = (await explorerPage.textContent('body')) ?? '';
    expect(explorerText.toLowerCase()).toContain((hash ?? '').toLowerCase());
    expect(explorerText).toMatch(/success/i);
    await explorerPage.screenshot({ path: await artifactPath('explorer-tx.png') });
  }, 180_000);

  it('a drop in the middle of a paid turn: the user sees an error, the page reconnects, and it is charged once', async () => {
    const agentAddress = devnet.accounts.agent.address;
    const before = await devnet.usdcBalance(agentAddress);
    await page.getByTestId('prompt').fill('Generate an image of a lighthouse in a storm');
    await page.getByTestId('send').click();
    await page.locator('[data-testid="working"][data-phase="processing"]').waitFor();

    // The WebSocket host goes away mid-turn (every socket closes) and comes back on the same port.
    const port = Number(new URL(host.httpUrl).port);
    await host.stop();
    host = await startLocalWebSocketHost({
      port,
      agentUrl: agent.url,
      dataDir,
      staticDir,
      explorerUrl: devnet.explorerUrl ?? '',
    });
    await page.locator('[data-testid="error"][data-code="connection_lost"]').waitFor();
    await page.locator('[data-testid="connection-status"][data-status="open"]').waitFor({ timeout: 30_000 });

    // The agent finished the turn it had started: one payment, and nothing retried it.
    await expect
      .poll(() => devnet.usdcBalance(agentAddress), { timeout: 30_000 })
      .toBe(before - PRICE_ATOMIC);
    await page.getByTestId('prompt').fill('What are my wallet details?');
    await page.getByTestId('send').click();
    await expect
      .poll(() => page.getByTestId('wallet-usdc').textContent(), { timeout: 60_000 })
      .toBe(formatUnits(before - PRICE_ATOMIC));
    expect(await devnet.usdcBalance(agentAddress)).toBe(before - PRICE_ATOMIC);
    await page.screenshot({ path: await artifactPath('chat-full-stack-drop.png') });
  }, 180_000);
});

/** The agent's wallet snapshot prints USDC like "9.96" (no trailing zeros). */
function formatUnits(atomic: bigint): string {
  const whole = atomic / 1_000_000n;
  const fraction = (atomic % 1_000_000n).toString().padStart(6, '0').replace(/0+$/, '');
  return fraction ? `${whole}.${fraction}` : `${whole}`;
}
