/**
 * Child-process entry for the paid-request benchmark: runs ONE service (our facilitator, our
 * gateway, the reference facilitator or the reference seller) in its own Node process, so each
 * service has its own event loop as in a deployment. Config comes as JSON in BENCH_SERVICE; the
 * process prints `READY <url>` once listening and, on SIGTERM, `STATS <json>` before exiting.
 * Log lines are serialised as in production but counted instead of written (no terminal I/O cost).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';

// Each role imports only what it runs (dynamic imports): a child that loads every package
// takes tens of seconds to start on a loaded 2-core machine.

const hex = z.string().regex(/^0x[0-9a-fA-F]+$/) as unknown as z.ZodType<`0x${string}`>;
/** `generated`: the local procedural generator per request; `prerendered`: one PNG rendered at start. */
const ImageMode = z.enum(['generated', 'prerendered']);
export type ImageMode = z.infer<typeof ImageMode>;
export const ServiceConfig = z.discriminatedUnion('role', [
  z.object({ role: z.literal('ours-facilitator'), rpcUrl: z.string(), settlerKey: hex }),
  z.object({
    role: z.literal('ours-gateway'),
    rpcUrl: z.string(),
    facilitatorUrl: z.string(),
    sellerAddress: hex,
    image: ImageMode,
  }),
  z.object({
    role: z.literal('reference-facilitator'),
    rpcUrl: z.string(),
    settlerKey: hex,
    scheme: z.enum(['exact', 'batch-settlement']),
  }),
  z.object({
    role: z.literal('reference-seller'),
    facilitatorUrl: z.string(),
    sellerAddress: hex,
    image: ImageMode,
    scheme: z.enum(['exact', 'batch-settlement']),
  }),
  /** The same image answer as the paid routes (body parsed, image stored, base64 JSON), no payment. */
  z.object({ role: z.literal('unpaid-seller'), image: ImageMode }),
]);
export type ServiceConfig = z.infer<typeof ServiceConfig>;

const logStats = { lines: 0, bytes: 0 };
const countLine = (line: string) => {
  logStats.lines += 1;
  logStats.bytes += line.length + 1;
};

async function imageGeneratorFor(mode: ImageMode) {
  if (mode === 'prerendered') {
    const { prerenderedImageGenerator } = await import('./prerendered.ts');
    return prerenderedImageGenerator();
  }
  const { defaultRenderThreads, LocalImageGenerator } = await import('@agentic-payments/imaging');
  const generator = new LocalImageGenerator({ threads: defaultRenderThreads() });
  await generator.warm();
  return generator;
}

async function start(
  config: ServiceConfig,
): Promise<{ url: string; stop(): Promise<void>; extra(): unknown }> {
  switch (config.role) {
    case 'ours-facilitator': {
      const { createJsonLogger: createFacilitatorLogger, startFacilitator } = await import(
        '@agentic-payments/facilitator'
      );
      const running = await startFacilitator({
        rpcUrl: config.rpcUrl,
        privateKey: config.settlerKey,
        network: 'devnet',
        port: 0,
        logger: createFacilitatorLogger(countLine),
      });
      return { url: running.url, stop: running.stop, extra: () => ({ settler: running.stats() }) };
    }
    case 'ours-gateway': {
      const { createJsonLogger: createGatewayLogger, startGateway } = await import(
        '@agentic-payments/gateway'
      );
      const imageGenerator = await imageGeneratorFor(config.image);
      const dataDir = mkdtempSync(join(tmpdir(), 'bench-gateway-'));
      const running = await startGateway({
        port: 0,
        sellerAddress: config.sellerAddress,
        network: 'devnet',
        facilitatorUrl: config.facilitatorUrl,
        dataDir,
        rpcUrl: config.rpcUrl,
        imageUrlSecret: 'bench-only-image-url-secret-0123456789',
        // The same generator, in the same number of render threads, as the reference seller's.
        imageGenerator,
        logger: createGatewayLogger({ write: countLine }),
        // Claims and settles only when the bench stops the gateway (no timer firing mid-segment).
        batchSettlement: { claimIntervalSeconds: 0 },
      });
      return {
        url: running.url,
        stop: async () => {
          await running.stop();
          rmSync(dataDir, { recursive: true, force: true });
        },
        extra: () => ({}),
      };
    }
    case 'reference-facilitator': {
      const { startReferenceFacilitator } = await import('./reference-stack.ts');
      return { ...(await startReferenceFacilitator(config)), extra: () => ({}) };
    }
    case 'reference-seller': {
      const { startReferenceSeller } = await import('./reference-stack.ts');
      const imageGenerator = await imageGeneratorFor(config.image);
      return {
        ...(await startReferenceSeller({ ...config, imageGenerator })),
        extra: () => ({}),
      };
    }
    case 'unpaid-seller': {
      const { startUnpaidSeller } = await import('./unpaid-seller.ts');
      const imageGenerator = await imageGeneratorFor(config.image);
      return { ...(await startUnpaidSeller({ imageGenerator })), extra: () => ({}) };
    }
  }
}

const config = ServiceConfig.parse(JSON.parse(process.env.BENCH_SERVICE ?? '{}'));
const running = await start(config);
process.stdout.write(`READY ${running.url}\n`);
process.once('SIGTERM', () => {
  const stats = { role: config.role, log: logStats, ...(running.extra() as object) };
  void running.stop().finally(() => {
    process.stdout.write(`STATS ${JSON.stringify(stats)}\n`, () => process.exit(0));
  });
});
