import { resolve } from 'node:path';
import { z } from 'zod';
import { startLocalWebSocketHost } from './local/start-local-websocket-host.ts';

// CLI: `tsx packages/realtime/src/main.ts` runs the local API Gateway WebSocket host (and the chat
// page when STATIC_DIR points at a built frontend/dist).
const Env = z.object({
  WS_PORT: z.coerce.number().int().min(0).max(65535).default(3001),
  WS_HOST: z.string().min(1).default('127.0.0.1'),
  AGENT_URL: z.url({ protocol: /^https?$/ }).default('http://127.0.0.1:8080'),
  DATA_DIR: z.string().min(1).default('.data'),
  STATIC_DIR: z.string().min(1).optional(),
  EXPLORER_URL: z.url({ protocol: /^https?$/ }).optional(),
  PUBLIC_URL: z.url({ protocol: /^wss?$/ }).optional(),
});

const parsed = Env.safeParse(process.env);
if (!parsed.success) {
  console.error(
    `Invalid configuration:\n  ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n  ')}`,
  );
  process.exit(1);
}
const env = parsed.data;
const host = await startLocalWebSocketHost({
  port: env.WS_PORT,
  host: env.WS_HOST,
  agentUrl: env.AGENT_URL,
  dataDir: resolve(env.DATA_DIR),
  ...(env.STATIC_DIR ? { staticDir: resolve(env.STATIC_DIR) } : {}),
  ...(env.EXPLORER_URL ? { explorerUrl: env.EXPLORER_URL } : {}),
  ...(env.PUBLIC_URL ? { publicUrl: env.PUBLIC_URL } : {}),
  verbose: true,
});
console.log(`[realtime] WebSocket API (local API Gateway stand-in): ${host.url}`);
if (env.STATIC_DIR) console.log(`[realtime] chat page: ${host.httpUrl}`);
console.log(`[realtime] agent: ${env.AGENT_URL}; images in s3rver at ${host.s3Endpoint}`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    host.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
