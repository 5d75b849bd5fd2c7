import { createHash, randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { BudgetLedger, type WalletBudgetStore } from './wallet-budget.ts';

/**
 * The tail of each ledger file's update chain, per process: every store instance over one file
 * (a restarted agent in the same process, tests) queues behind the same lock.
 */
const tails = new Map<string, Promise<unknown>>();

/**
 * The local wallet-budget store: one JSON file per wallet under `<dir>`. Updates of one wallet run
 * one at a time in this process (a promise chain per file), and each write is a temp file, fsync'd,
 * then renamed over the old one, so a crash leaves the old or the new ledger, never a torn one.
 * One agent process owns the directory (as one gateway owns its dynalite directory); agents that
 * share a wallet across processes or machines use the DynamoDB store.
 *
 * @example
 * const store = createFileWalletBudgetStore(join(dataDir, 'wallet-budget'));
 */
export function createFileWalletBudgetStore(dir: string): WalletBudgetStore {
  const pathFor = (walletKey: string) =>
    join(dir, `${createHash('sha256').update(walletKey).digest('hex').slice(0, 40)}.json`);

  async function read(walletKey: string): Promise<BudgetLedger> {
    let text: string;
    try {
      text = await readFile(pathFor(walletKey), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [] };
      throw error;
    }
    const parsed = BudgetLedger.safeParse(JSON.parse(text));
    // A ledger that does not parse is not silently reset: that would lift the cap.
    if (!parsed.success) throw new Error(`corrupt wallet budget ledger ${pathFor(walletKey)}`);
    return parsed.data;
  }

  async function write(walletKey: string, ledger: BudgetLedger): Promise<void> {
    await mkdir(dir, { recursive: true });
    const target = pathFor(walletKey);
    const temp = `${target}.${randomUUID()}.tmp`;
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(JSON.stringify(ledger), 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, target);
  }

  return {
    kind: 'file',
    read,
    update(walletKey, change) {
      const key = resolve(pathFor(walletKey));
      const previous = tails.get(key) ?? Promise.resolve();
      const run = previous
        .catch(() => undefined)
        .then(async () => {
          const { ledger, result } = change(await read(walletKey));
          if (ledger) await write(walletKey, ledger);
          return result;
        });
      tails.set(key, run);
      const cleanup = () => {
        if (tails.get(key) === run) tails.delete(key);
      };
      run.then(cleanup, cleanup);
      return run;
    },
  };
}
