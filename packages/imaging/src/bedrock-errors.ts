import { ImagingError, type ImagingErrorCode } from './imaging-error.ts';

export type BedrockPhase = 'generation' | 'analysis';

/** Bedrock's Responsible-AI refusals: ValidationException "...blocked by our content filters..." */
const CONTENT_FILTER = /content filter|blocked by our|responsible ai|guardrail/i;

const THROTTLED = new Set(['ThrottlingException', 'ServiceQuotaExceededException', 'ModelNotReadyException']);
const ACCESS_DENIED = new Set([
  'AccessDeniedException',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'ExpiredTokenException',
  'CredentialsProviderError',
]);
const TIMEOUT = new Set([
  'AbortError',
  'TimeoutError',
  'ModelTimeoutException',
  'RequestTimeout',
  'RequestTimeoutException',
]);

function errorName(err: unknown): string {
  if (err !== null && typeof err === 'object') {
    const named = err as { name?: unknown; code?: unknown };
    if (typeof named.name === 'string' && named.name !== 'Error') return named.name;
    if (typeof named.code === 'string') return named.code;
  }
  return 'Error';
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Translates an AWS SDK / Bedrock failure into our codes, keeping the original as `cause`:
 * content-filter refusals → content_filtered (422), throttling → model_throttled (503), missing
 * model access or credentials → model_access_denied (502), timeouts and aborts →
 * generation_timeout / analysis_timeout (504), anything else → generation_failed / analysis_failed (502).
 * https://docs.aws.amazon.com/nova/latest/userguide/image-gen-errors.html
 */
export function mapBedrockError(err: unknown, phase: BedrockPhase, modelId: string): ImagingError {
  if (err instanceof ImagingError) return err;
  const name = errorName(err);
  const message = errorMessage(err);
  const code = ((): ImagingErrorCode => {
    if (name === 'ValidationException' && CONTENT_FILTER.test(message)) return 'content_filtered';
    if (THROTTLED.has(name)) return 'model_throttled';
    if (ACCESS_DENIED.has(name)) return 'model_access_denied';
    if (TIMEOUT.has(name)) return phase === 'generation' ? 'generation_timeout' : 'analysis_timeout';
    return phase === 'generation' ? 'generation_failed' : 'analysis_failed';
  })();
  const text: Record<ImagingErrorCode, string> = {
    content_filtered: `${modelId} refused the request: its content filters blocked it`,
    model_throttled: `${modelId} is throttling requests (${name}); retry later`,
    model_access_denied: `no access to ${modelId} (${name}): check the model is enabled and the credentials`,
    generation_timeout: `${modelId} did not answer in time (${name})`,
    analysis_timeout: `${modelId} did not answer in time (${name})`,
    generation_failed: `${modelId} failed to generate the image (${name})`,
    analysis_failed: `${modelId} failed to analyze the image (${name})`,
    invalid_image_request: message,
    invalid_image: message,
  };
  return new ImagingError(code, text[code], { cause: err });
}

/**
 * One signal for a Bedrock call: the caller's (if any) and our own deadline. Aborting it makes
 * the SDK's request handler reject with an AbortError, which maps to a timeout code.
 */
export function callSignal(timeoutMs: number, signal?: AbortSignal): AbortSignal {
  const deadline = AbortSignal.timeout(timeoutMs);
  return signal === undefined ? deadline : AbortSignal.any([signal, deadline]);
}
