/**
 * The gateway as its own process for the batch-settlement kill -9 test: like `gateway-child.ts`
 * (embedded dynalite under DATA_DIR, the real facilitator, CLOCK_OFFSET_MS), plus DIE_AFTER_IMAGES:
 * once that many images are stored the process SIGKILLs itself right after the store, i.e. between
 * "image stored" and "charge committed". Claims run only at a graceful stop (SIGTERM). Test tool only.
 */
import { createJsonLogger, startGateway } from '@agentic-payments/gateway';

const env = process.env;
const offset = Number(env.CLOCK_OFFSET_MS ?? '0');
const dieAfter = Number(env.DIE_AFTER_IMAGES ?? '0');
let stored = 0;
const gateway = await startGateway({
  port: 0,
  network: 'devnet',
  sellerAddress: env.SELLER_ADDRESS as `0x${string}`,
  facilitatorUrl: env.FACILITATOR_URL as string,
  dataDir: env.DATA_DIR as string,
  rpcUrl: env.RPC_URL,
  imageUrlSecret: 'reliability-suite-image-url-secret',
  clock: { now: () => Date.now() + offset },
  batchSettlement: { claimIntervalSeconds: 0 },
  imageStore: (local) => ({
    ...local,
    put: async (id, image) => {
      await local.put(id, image);
      stored += 1;
      if (dieAfter > 0 && stored >= dieAfter) process.kill(process.pid, 'SIGKILL');
    },
  }),
  logger: createJsonLogger({ write: (line) => process.stderr.write(`${line}\n`) }),
});
process.stdout.write(`${JSON.stringify({ url: gateway.url })}\n`);
process.on('SIGTERM', () => {
  void gateway.stop().then(() => process.exit(0));
});
