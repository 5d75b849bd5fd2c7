import type { AgentOutput, ServerMessage } from './messages.ts';

/** A WebSocket connection as the connections table keeps it. */
export interface ConnectionRecord {
  connectionId: string;
  connectedAt: number;
  /** Epoch seconds after which the record is dead (DynamoDB TTL deletes late, so readers check too). */
  ttl: number;
  domainName: string;
  stage: string;
  sourceIp?: string | undefined;
}

export interface ConnectionStore {
  put(record: ConnectionRecord): Promise<void>;
  /** The live record, or undefined when missing or past its TTL. */
  get(connectionId: string): Promise<ConnectionRecord | undefined>;
  delete(connectionId: string): Promise<void>;
}

export interface InvokeAgentParameters {
  prompt: string;
  sessionId: string;
  signal: AbortSignal;
}

/** InvokeAgentRuntime in the cloud, HTTP POST /invocations locally. */
export interface AgentInvoker {
  invoke(params: InvokeAgentParameters): Promise<AgentOutput>;
}

export interface PutImageParameters {
  key: string;
  body: Uint8Array;
  contentType: string;
}

/** Where generated images go so that frames carry URLs, not megabytes (S3 + presigned GET). */
export interface ImageStore {
  put(params: PutImageParameters): Promise<{ url: string }>;
}

/** Sends a frame to one connection; resolves false when the client is gone (HTTP 410). */
export interface ClientMessenger {
  send(target: MessageTarget, message: ServerMessage): Promise<boolean>;
}

export interface MessageTarget {
  connectionId: string;
  domainName: string;
  stage: string;
}

export interface Clock {
  now(): number;
}

export interface Logger {
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
}
