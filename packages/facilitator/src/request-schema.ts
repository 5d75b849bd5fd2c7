import { FacilitatorRequestV1, FacilitatorRequestV2 } from '@agentic-payments/x402';
import { z } from 'zod';
import { BatchSettlementRequestBody } from './batch-settlement-schema.ts';

// `/verify` and `/settle` bodies of the exact scheme are the shared wire schemas of
// @agentic-payments/x402 (EIP-3009 authorization, v1 and v2); batch-settlement bodies are
// batch-settlement-schema.ts (v2 only). This module picks the scheme and the version.

export type ExactFacilitatorRequest =
  | { scheme: 'exact'; version: 1; body: FacilitatorRequestV1 }
  | { scheme: 'exact'; version: 2; body: FacilitatorRequestV2 };

export type BatchSettlementFacilitatorRequest = {
  scheme: 'batch-settlement';
  version: 2;
  body: BatchSettlementRequestBody;
};

export type FacilitatorRequest = ExactFacilitatorRequest | BatchSettlementFacilitatorRequest;

export type ParseFacilitatorRequestResult =
  | { ok: true; request: FacilitatorRequest }
  | { ok: false; code: 'invalid_request' | 'x402_version_mismatch'; message: string };

const versionProbe = z.object({
  x402Version: z.unknown().optional(),
  paymentPayload: z.object({ x402Version: z.union([z.literal(1), z.literal(2)]) }),
  paymentRequirements: z.object({ scheme: z.unknown() }).optional(),
});

const BATCH_SETTLEMENT = 'batch-settlement';

/**
 * Parses a `/verify` or `/settle` body; the payload's `x402Version` decides v1 or v2, the
 * requirements' `scheme` decides exact or batch-settlement (v2 only).
 */
export function parseFacilitatorRequest(input: unknown): ParseFacilitatorRequestResult {
  const probe = versionProbe.safeParse(input);
  if (!probe.success) {
    return { ok: false, code: 'invalid_request', message: describe(probe.error) };
  }
  const version = probe.data.paymentPayload.x402Version;
  if (probe.data.x402Version !== undefined && probe.data.x402Version !== version) {
    return {
      ok: false,
      code: 'x402_version_mismatch',
      message: `x402Version ${String(probe.data.x402Version)} differs from paymentPayload.x402Version ${version}`,
    };
  }
  if (version === 1) {
    const parsed = FacilitatorRequestV1.safeParse(input);
    if (!parsed.success) return { ok: false, code: 'invalid_request', message: describe(parsed.error) };
    return { ok: true, request: { scheme: 'exact', version: 1, body: parsed.data } };
  }
  if (probe.data.paymentRequirements?.scheme === BATCH_SETTLEMENT) {
    const parsed = BatchSettlementRequestBody.safeParse(input);
    if (!parsed.success) return { ok: false, code: 'invalid_request', message: describe(parsed.error) };
    return { ok: true, request: { scheme: BATCH_SETTLEMENT, version: 2, body: parsed.data } };
  }
  const parsed = FacilitatorRequestV2.safeParse(input);
  if (!parsed.success) return { ok: false, code: 'invalid_request', message: describe(parsed.error) };
  return { ok: true, request: { scheme: 'exact', version: 2, body: parsed.data } };
}

function describe(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`)
    .join('; ');
}
