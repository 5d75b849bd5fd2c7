/**
 * The unpaid baseline for "added latency of the payment": the image answer of the paid routes
 * without any payment. It parses the JSON body, takes the image from the same generator, stores it
 * in the gateway's local image store (files, signed link) and answers with the image as base64
 * JSON plus its link, like our gateway's inline delivery. Served by plain `node:http` (lighter than
 * our gateway's Hono), so the payment's added latency is if anything overstated.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalImageStore } from '@agentic-payments/gateway';
import type { ImageGenerator } from '@agentic-payments/imaging';
import type { RunningService } from './reference-stack.ts';

export async function startUnpaidSeller(options: {
  imageGenerator: ImageGenerator;
}): Promise<RunningService> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-unpaid-'));
  let publicUrl = 'http://127.0.0.1';
  const store = () =>
    createLocalImageStore({ dataDir, publicUrl, secret: 'bench-only-image-url-secret-0123456789' });
  let images = store();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      void (async () => {
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString()) as {
            prompt?: unknown;
            request_id?: unknown;
          };
          const image = await options.imageGenerator.generate({
            prompt: typeof body.prompt === 'string' ? body.prompt : '',
            width: 1024,
            height: 1024,
            quality: 'standard',
          });
          const id = randomUUID();
          await images.put(id, { bytes: image.png, mimeType: image.mimeType });
          const answer = {
            status: 'unpaid',
            request_id: body.request_id,
            image_id: id,
            image_url: await images.url(id, Date.now() + 3_600_000),
            image: { mime_type: image.mimeType, base64: Buffer.from(image.png).toString('base64') },
          };
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
        } catch (error) {
          const message = error instanceof Error ? error.message : 'failed';
          res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: message }));
        }
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  publicUrl = `http://127.0.0.1:${port}`;
  images = store();
  return {
    url: publicUrl,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        rmSync(dataDir, { recursive: true, force: true });
      }),
  };
}
