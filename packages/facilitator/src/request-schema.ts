import { FacilitatorRequestV1, FacilitatorRequestV2 } from '@agentic-payments/x402';
import { z } from 'zod';

// `/verify` and `/settle` bodies are the shared wire schemas of @agentic-payments/x402 (exact
// EVM scheme with an EIP-3009 authorization, v1 and v2); this module only picks the version.

export type FacilitatorRequest =
  | { version: 1; body: FacilitatorRequestV1 }
  | { version: 2; body: FacilitatorRequestV2 };

export type ParseFacilitatorRequestResult =
  | { ok: true; request: FacilitatorRequest }
  | { ok: false; code: 'invalid_request' | 'x402_version_mismatch'; message: string };

const versionProbe = z.object({
  x402Version: z.unknown().optional(),
  paymentPayload: z.object({ x402Version: z.union([z.literal(1), z.literal(2)]) }),
});

/** Parses a `/verify` or `/settle` body; the payload's `x402Version` decides v1 or v2. */
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
    return { ok: true, request: { version: 1, body: parsed.data } };
  }
  const parsed = FacilitatorRequestV2.safeParse(input);
  if (!parsed.success) return { ok: false, code: 'invalid_request', message: describe(parsed.error) };
  return { ok: true, request: { version: 2, body: parsed.data } };
}

function describe(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`)
    .join('; ');
}
