import { DEVNET_DISPLAY_NAME } from '@agentic-payments/x402';
import { Hono } from 'hono';
import { html } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import {
  type Address,
  type Chain,
  getAddress,
  type Hash,
  isAddress,
  type PublicClient,
  type Transport,
} from 'viem';
import {
  type AddressDetails,
  type BlockSummary,
  formatEth,
  formatUsdcAmount,
  getAddressDetails,
  getLatestBlocks,
  getTxDetails,
  type TxDetails,
  type UsdcTransfer,
} from './chain-data.ts';

export interface ExplorerDeps {
  publicClient: PublicClient<Transport, Chain | undefined>;
  usdcAddress: Address;
}

type Page = HtmlEscapedString | Promise<HtmlEscapedString>;

const TX_HASH = /^0x[0-9a-fA-F]{64}$/;

const STYLE = `
body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1b1f24;background:#f6f8fa}
header{background:#0b3d91;color:#fff;padding:12px 24px}header a{color:#fff;text-decoration:none;font-weight:600}
header small{opacity:.8;margin-left:12px}main{max-width:1100px;margin:24px auto;padding:0 24px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #d0d7de}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid #eaeef2;vertical-align:top}
th{background:#f0f3f6;font-weight:600;width:220px}code,.mono{font-family:ui-monospace,monospace;font-size:13px;word-break:break-all}
.ok{color:#1a7f37;font-weight:600}.bad{color:#cf222e;font-weight:600}.note{color:#57606a;font-size:13px}
form input{width:70%;padding:6px;font-family:ui-monospace,monospace}
`;

function layout(title: string, body: Page): Page {
  return html`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>${title} · Devnet explorer</title>
    <style>${STYLE}</style>
  </head>
  <body>
    <header>
      <a href="/">Devnet explorer</a>
      <small data-network>${DEVNET_DISPLAY_NAME} · DEVNET ONLY, not BaseScan</small>
    </header>
    <main>${body}</main>
  </body>
</html>`;
}

const addressLink = (address: Address | null): Page =>
  address
    ? html`<a class="mono" href="/address/${address}">${address}</a>`
    : html`<span class="note">—</span>`;
const txLink = (hash: Hash): Page => html`<a class="mono" href="/tx/${hash}">${hash}</a>`;
const when = (timestamp: bigint | null): string =>
  timestamp === null ? '—' : new Date(Number(timestamp) * 1000).toISOString().replace('.000Z', 'Z');

function transfersTable(transfers: UsdcTransfer[], withTx: boolean): Page {
  if (transfers.length === 0) return html`<p class="note">No USDC transfers.</p>`;
  return html`<table>
    <tr>
      ${withTx ? html`<th>Transaction</th>` : ''}<th>From</th><th>To</th><th>Amount</th>
    </tr>
    ${transfers.map(
      (t) => html`<tr>
        ${withTx ? html`<td>${t.transactionHash ? txLink(t.transactionHash) : '—'}</td>` : ''}
        <td>${addressLink(t.from)}</td>
        <td>${addressLink(t.to)}</td>
        <td>${t.amount} USDC <span class="note">(${t.atomic.toString()} atomic)</span></td>
      </tr>`,
    )}
  </table>`;
}

function txPage(tx: TxDetails): Page {
  const status =
    tx.status === 'success'
      ? html`<span class="ok">Success</span>`
      : tx.status === 'reverted'
        ? html`<span class="bad">Reverted</span>`
        : html`<span>Pending</span>`;
  return layout(
    `Transaction ${tx.hash}`,
    html`<h1>Transaction</h1>
      <table>
        <tr><th>Hash</th><td class="mono">${tx.hash}</td></tr>
        <tr><th>Status</th><td>${status}</td></tr>
        <tr><th>Block</th><td>${tx.blockNumber === null ? '—' : tx.blockNumber.toString()}</td></tr>
        <tr><th>Time (UTC)</th><td>${when(tx.timestamp)}</td></tr>
        <tr><th>From</th><td>${addressLink(tx.from)}</td></tr>
        <tr><th>To</th><td>${addressLink(tx.to)}${tx.usdcFunction ? html` <span class="note">USDC.${tx.usdcFunction}</span>` : ''}</td></tr>
        ${tx.contractAddress ? html`<tr><th>Contract created</th><td>${addressLink(tx.contractAddress)}</td></tr>` : ''}
        <tr><th>Value</th><td>${formatEth(tx.valueWei)} ETH</td></tr>
        <tr><th>Gas used</th><td>${tx.gasUsed === null ? '—' : tx.gasUsed.toString()}</td></tr>
        <tr><th>Gas price</th><td>${tx.effectiveGasPrice === null ? '—' : `${tx.effectiveGasPrice.toString()} wei`}</td></tr>
      </table>
      <h2>USDC transfers</h2>
      ${transfersTable(tx.usdcTransfers, false)}
      <h2>EIP-3009 authorizations</h2>
      ${
        tx.authorizations.length === 0
          ? html`<p class="note">No authorization used or canceled in this transaction.</p>`
          : html`<table>
              <tr><th>Event</th><th>Authorizer</th><th>Nonce</th></tr>
              ${tx.authorizations.map(
                (a) => html`<tr>
                  <td>${a.kind === 'used' ? 'AuthorizationUsed' : 'AuthorizationCanceled'}</td>
                  <td>${addressLink(a.authorizer)}</td>
                  <td class="mono">${a.nonce}</td>
                </tr>`,
              )}
            </table>`
      }
      <p class="note">${tx.logCount} log(s) · <a href="/api/tx/${tx.hash}">JSON</a></p>`,
  );
}

function addressPage(details: AddressDetails, usdcAddress: Address): Page {
  return layout(
    `Address ${details.address}`,
    html`<h1>Address</h1>
      <table>
        <tr><th>Address</th><td class="mono">${details.address}</td></tr>
        <tr><th>Kind</th><td>${details.isContract ? (details.address === usdcAddress ? 'Contract (USDC)' : 'Contract') : 'Account'}</td></tr>
        <tr><th>ETH balance</th><td>${formatEth(details.ethWei)} ETH</td></tr>
        <tr><th>USDC balance</th><td>${formatUsdcAmount(details.usdcAtomic)} USDC <span class="note">(${details.usdcAtomic.toString()} atomic)</span></td></tr>
      </table>
      <h2>Recent USDC transfers</h2>
      ${transfersTable(details.transfers, true)}
      <p class="note"><a href="/api/address/${details.address}">JSON</a></p>`,
  );
}

function homePage(blocks: BlockSummary[], usdcAddress: Address): Page {
  const txs = blocks.flatMap((block) => block.transactions.map((tx) => ({ ...tx, block: block.number })));
  return layout(
    'Latest',
    html`<form action="/search" method="get">
        <input name="q" placeholder="Transaction hash or address (0x…)" aria-label="search" />
        <button type="submit">Go</button>
      </form>
      <p>USDC: ${addressLink(usdcAddress)}</p>
      <h2>Latest transactions</h2>
      ${
        txs.length === 0
          ? html`<p class="note">No transactions yet.</p>`
          : html`<table>
              <tr><th>Hash</th><th>Block</th><th>From</th><th>To</th></tr>
              ${txs.map(
                (tx) => html`<tr>
                  <td>${txLink(tx.hash)}</td><td>${tx.block.toString()}</td>
                  <td>${addressLink(tx.from)}</td><td>${addressLink(tx.to)}</td>
                </tr>`,
              )}
            </table>`
      }
      <h2>Latest blocks</h2>
      <table>
        <tr><th>Block</th><th>Time (UTC)</th><th>Transactions</th><th>Gas used</th></tr>
        ${blocks.map(
          (b) => html`<tr>
            <td>${b.number.toString()}</td><td>${when(b.timestamp)}</td>
            <td>${b.transactions.length}</td><td>${b.gasUsed.toString()}</td>
          </tr>`,
        )}
      </table>`,
  );
}

const notFoundPage = (what: string): Page =>
  layout('Not found', html`<h1>Not found</h1><p>${what}</p><p><a href="/">Back to the latest blocks</a></p>`);
const badRequestPage = (what: string): Page =>
  layout('Bad request', html`<h1>Bad request</h1><p>${what}</p><p><a href="/">Back</a></p>`);

const jsonBigint = (value: unknown): unknown =>
  JSON.parse(JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));

/**
 * The explorer (a BaseScan stand-in for the devnet): server-rendered HTML plus JSON twins.
 * Bad hashes/addresses get 400 `invalid_tx_hash` / `invalid_address`; unknown hashes 404 `tx_not_found`.
 */
export function createExplorerApp({ publicClient, usdcAddress }: ExplorerDeps): Hono {
  const app = new Hono();

  app.get('/', async (c) => c.html(homePage(await getLatestBlocks(publicClient), usdcAddress)));

  app.get('/search', (c) => {
    const q = (c.req.query('q') ?? '').trim();
    if (TX_HASH.test(q)) return c.redirect(`/tx/${q}`);
    if (isAddress(q, { strict: false })) return c.redirect(`/address/${getAddress(q)}`);
    return c.html(badRequestPage('Enter a 32-byte transaction hash or a 20-byte address, 0x-prefixed.'), 400);
  });

  app.get('/tx/:hash', async (c) => {
    const hash = c.req.param('hash');
    if (!TX_HASH.test(hash)) return c.html(badRequestPage(`"${hash}" is not a transaction hash.`), 400);
    const tx = await getTxDetails(publicClient, usdcAddress, hash as Hash);
    if (!tx) return c.html(notFoundPage(`No transaction ${hash} on this devnet.`), 404);
    return c.html(txPage(tx));
  });

  app.get('/api/tx/:hash', async (c) => {
    const hash = c.req.param('hash');
    if (!TX_HASH.test(hash))
      return c.json({ error: 'invalid_tx_hash', message: 'not a 32-byte 0x hash' }, 400);
    const tx = await getTxDetails(publicClient, usdcAddress, hash as Hash);
    if (!tx) return c.json({ error: 'tx_not_found', message: `no transaction ${hash}` }, 404);
    return c.json(jsonBigint(tx));
  });

  app.get('/address/:address', async (c) => {
    const raw = c.req.param('address');
    if (!isAddress(raw, { strict: false })) return c.html(badRequestPage(`"${raw}" is not an address.`), 400);
    return c.html(
      addressPage(await getAddressDetails(publicClient, usdcAddress, getAddress(raw)), usdcAddress),
    );
  });

  app.get('/api/address/:address', async (c) => {
    const raw = c.req.param('address');
    if (!isAddress(raw, { strict: false })) {
      return c.json({ error: 'invalid_address', message: 'not a 20-byte 0x address' }, 400);
    }
    return c.json(jsonBigint(await getAddressDetails(publicClient, usdcAddress, getAddress(raw))));
  });

  app.notFound((c) =>
    c.req.path.startsWith('/api/')
      ? c.json({ error: 'not_found', message: `no route ${c.req.path}` }, 404)
      : c.html(notFoundPage(`No page at ${c.req.path}.`), 404),
  );
  app.onError((error, c) => {
    console.error('explorer error', error);
    return c.req.path.startsWith('/api/')
      ? c.json({ error: 'rpc_unavailable', message: 'the devnet RPC did not answer' }, 502)
      : c.html(layout('Error', html`<h1>Devnet unavailable</h1><p>The devnet RPC did not answer.</p>`), 502);
  });
  return app;
}
