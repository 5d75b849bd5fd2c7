/**
 * The gateway as its own process, for the kill -9 test: embedded dynalite under DATA_DIR (so the
 * payment records survive the kill), the real facilitator at FACILITATOR_URL. CLOCK_OFFSET_MS moves
 * this process's clock forward to stand in for the minutes a real restart-and-retry takes.
 * Prints one JSON line `{ "url": ... }` once it listens. Test tool only.
 */
import { createJsonLogger, startGateway } from '@agentic-payments/gateway';

const env = process.env;
const offset = Number(env.CLOCK_OFFSET_MS ?? '0');
const gateway = await startGateway({
  port: 0,
  network: 'devnet',
  sellerAddress: env.SELLER_ADDRESS as `0x${string}`,
  facilitatorUrl: env.FACILITATOR_URL as string,
  dataDir: env.DATA_DIR as string,
  rpcUrl: env.RPC_URL,
  imageUrlSecret: 'reliability-suite-image-url-secret',
  clock: { now: () => Date.now() + offset },
  logger: createJsonLogger({ write: (line) => process.stderr.write(`${line}\n`) }),
});
process.stdout.write(`${JSON.stringify({ url: gateway.url })}\n`);
process.on('SIGTERM', () => {
  void gateway.stop().then(() => process.exit(0));
});
