import { BedrockRuntimeClient, type BedrockRuntimeClientConfig } from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';

export interface BedrockClientOptions {
  region?: string;
  /** Override the endpoint, e.g. a local Bedrock stand-in; `http://` endpoints are spoken to over HTTP/1.1. */
  endpoint?: string;
  /** Passed to the SDK as is (tests use static dummy credentials); default: the SDK's provider chain. */
  credentials?: BedrockRuntimeClientConfig['credentials'];
  /** SDK attempts per call including retries of throttling and 5xx; default: the SDK's (3). */
  maxAttempts?: number;
}

/**
 * A Bedrock Runtime client. Against AWS it uses the SDK's defaults (HTTP/2 handler, credential
 * chain, standard retries). A plain-`http://` endpoint gets a `NodeHttpHandler` because the
 * default HTTP/2 handler cannot speak cleartext HTTP/1.1.
 */
export function createBedrockRuntimeClient(options: BedrockClientOptions = {}): BedrockRuntimeClient {
  const config: BedrockRuntimeClientConfig = {};
  if (options.region !== undefined) config.region = options.region;
  if (options.endpoint !== undefined) {
    config.endpoint = options.endpoint;
    if (options.endpoint.startsWith('http://')) config.requestHandler = new NodeHttpHandler();
  }
  if (options.credentials !== undefined) config.credentials = options.credentials;
  if (options.maxAttempts !== undefined) config.maxAttempts = options.maxAttempts;
  return new BedrockRuntimeClient(config);
}
