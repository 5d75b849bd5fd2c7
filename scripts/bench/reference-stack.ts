/**
 * The REFERENCE x402 stack, built only from the official libraries the way their READMEs show:
 * - a facilitator: `@x402/core` `x402Facilitator` + `@x402/evm` exact scheme, with a plain viem
 *   wallet client (`createWalletClient(...).extend(publicActions)`) as the signer, served over HTTP
 *   by express (`POST /verify`, `POST /settle`, `GET /supported`);
 * - a seller: express + `@x402/express` `paymentMiddleware` with an `x402ResourceServer` that talks
 *   to that facilitator through `HTTPFacilitatorClient`, guarding `POST /generate_image`, whose
 *   handler runs the same local procedural generator (not an AI model) as our gateway.
 *
 * The batch-settlement variant (side 4 of the bench) swaps in the official batch-settlement pieces
 * the same way: the facilitator registers `@x402/evm/batch-settlement/facilitator`'s scheme (the
 * same viem signer; its own key as receiver authorizer, advertised in `/supported`), and the seller
 * registers `@x402/evm/batch-settlement/server`'s scheme with its default in-memory channel storage.
 *
 * One deliberate deviation from the defaults, for fairness: the viem client polls receipts every
 * 20 ms (viem's default is 4 s without a chain block time), the same interval our facilitator uses
 * on the devnet. Nothing else is tuned.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ImageGenerator } from '@agentic-payments/imaging';
import { x402Facilitator } from '@x402/core/facilitator';
import { HTTPFacilitatorClient } from '@x402/core/server';
import type { PaymentPayload, PaymentRequirements } from '@x402/core/types';
import { toFacilitatorEvmSigner } from '@x402/evm';
import { BatchSettlementEvmScheme as BatchSettlementFacilitatorScheme } from '@x402/evm/batch-settlement/facilitator';
import { BatchSettlementEvmScheme as BatchSettlementServerScheme } from '@x402/evm/batch-settlement/server';
import { registerExactEvmScheme as registerFacilitatorScheme } from '@x402/evm/exact/facilitator';
import { ExactEvmScheme } from '@x402/evm/exact/server';
import { paymentMiddleware, x402ResourceServer } from '@x402/express';
import express from 'express';
import { createWalletClient, type Hex, http, publicActions } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { baseSepolia } from 'viem/chains';

export const REFERENCE_NETWORK = 'eip155:84532' as const;
export type ReferenceScheme = 'exact' | 'batch-settlement';

export interface RunningService {
  url: string;
  stop(): Promise<void>;
}

function listen(app: express.Express): Promise<{ server: Server; url: string }> {
  return new Promise((resolve, reject) => {
    const server = app.listen(0, '127.0.0.1', (error?: Error) => {
      if (error) return reject(error);
      const { port } = server.address() as AddressInfo;
      resolve({ server, url: `http://127.0.0.1:${port}` });
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** Builds the official facilitator with a plain viem signer (as in the x402 facilitator example). */
export function createReferenceFacilitator(
  rpcUrl: string,
  settlerKey: Hex,
  scheme: ReferenceScheme = 'exact',
): x402Facilitator {
  const account = privateKeyToAccount(settlerKey);
  const client = createWalletClient({
    account,
    // Base Sepolia as viem ships it, pointed at the devnet's RPC (same chain id, 84532).
    chain: baseSepolia,
    transport: http(rpcUrl),
    pollingInterval: 20,
  }).extend(publicActions);
  const signer = toFacilitatorEvmSigner({
    address: account.address,
    getCode: (args) => client.getCode(args),
    readContract: (args) => client.readContract(args as Parameters<typeof client.readContract>[0]),
    verifyTypedData: (args) => client.verifyTypedData(args as Parameters<typeof client.verifyTypedData>[0]),
    writeContract: (args) => client.writeContract(args as Parameters<typeof client.writeContract>[0]),
    sendTransaction: (args) => client.sendTransaction(args),
    waitForTransactionReceipt: (args) => client.waitForTransactionReceipt(args),
  });
  const facilitator = new x402Facilitator();
  if (scheme === 'exact') registerFacilitatorScheme(facilitator, { signer, networks: REFERENCE_NETWORK });
  else facilitator.register(REFERENCE_NETWORK, new BatchSettlementFacilitatorScheme(signer, account));
  return facilitator;
}

interface FacilitatorBody {
  paymentPayload: PaymentPayload;
  paymentRequirements: PaymentRequirements;
}

/** The official facilitator served over HTTP by express, as the x402 facilitator example does. */
export async function startReferenceFacilitator(options: {
  rpcUrl: string;
  settlerKey: Hex;
  scheme?: ReferenceScheme;
}): Promise<RunningService> {
  const facilitator = createReferenceFacilitator(options.rpcUrl, options.settlerKey, options.scheme);
  const app = express();
  app.use(express.json());
  app.post('/verify', async (req, res) => {
    const { paymentPayload, paymentRequirements } = req.body as FacilitatorBody;
    try {
      res.json(await facilitator.verify(paymentPayload, paymentRequirements));
    } catch (error) {
      res.status(500).json({ error: error instanceof Error ? error.message : 'verify failed' });
    }
  });
  app.post('/settle', async (req, res) => {
    const { paymentPayload, paymentRequirements } = req.body as FacilitatorBody;
    try {
      res.json(await facilitator.settle(paymentPayload, paymentRequirements));
    } catch (error) {
      res.status(500).json({ error: error instanceof Error ? error.message : 'settle failed' });
    }
  });
  app.get('/supported', (_req, res) => {
    res.json(facilitator.getSupported());
  });
  const { server, url } = await listen(app);
  return { url, stop: () => close(server) };
}

/** The seller: express + `@x402/express` paymentMiddleware around the same local image route. */
export async function startReferenceSeller(options: {
  facilitatorUrl: string;
  sellerAddress: Hex;
  imageGenerator: ImageGenerator;
  scheme?: ReferenceScheme;
}): Promise<RunningService> {
  const scheme = options.scheme ?? 'exact';
  const resourceServer = new x402ResourceServer(
    new HTTPFacilitatorClient({ url: options.facilitatorUrl }),
  ).register(
    REFERENCE_NETWORK,
    scheme === 'exact' ? new ExactEvmScheme() : new BatchSettlementServerScheme(options.sellerAddress),
  );
  const app = express();
  app.use(express.json());
  app.use(
    paymentMiddleware(
      {
        'POST /generate_image': {
          accepts: {
            scheme,
            price: '$0.04',
            network: REFERENCE_NETWORK,
            payTo: options.sellerAddress,
          },
          description: 'AI image 1024x1024 standard (local procedural generator, not an AI model)',
          mimeType: 'application/json',
        },
      },
      resourceServer,
    ),
  );
  app.post('/generate_image', async (req, res) => {
    const body = (req.body ?? {}) as { prompt?: unknown; request_id?: unknown };
    const prompt = typeof body.prompt === 'string' ? body.prompt : '';
    try {
      const image = await options.imageGenerator.generate({
        prompt,
        width: 1024,
        height: 1024,
        quality: 'standard',
      });
      res.json({
        status: 'payment_settled',
        request_id: body.request_id,
        image: { mime_type: image.mimeType, base64: Buffer.from(image.png).toString('base64') },
      });
    } catch (error) {
      res.status(400).json({ error: error instanceof Error ? error.message : 'generation failed' });
    }
  });
  const { server, url } = await listen(app);
  return { url, stop: () => close(server) };
}
