import type { AgentOutput, ServerMessage } from './messages.ts';
import type { TurnEvent } from './turn-event.ts';

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

export interface BeginTurnParameters {
  sessionId: string;
  turnId: string;
  /** The connection that asked (for the logs; frames go to the one in the turn event). */
  connectionId: string;
  nowMs: number;
}

/**
 * One in-flight agent turn per chat session (a record in the connections table, written with a
 * condition): a second message while a turn runs is refused instead of paying twice.
 */
export interface TurnRegistry {
  /** Records a queued turn; false when another turn of the session is queued or running. */
  begin(params: BeginTurnParameters): Promise<boolean>;
  /**
   * Moves this queued turn to running (and restarts its lease); false when it is not this turn's
   * record any more, already running (a duplicate asynchronous delivery) or expired.
   */
  start(params: { sessionId: string; turnId: string; nowMs: number }): Promise<boolean>;
  /** Removes the record if it is still this turn's. */
  finish(params: { sessionId: string; turnId: string }): Promise<void>;
}

/** Hands an accepted turn to the worker: an asynchronous Lambda invoke (InvocationType Event). */
export interface TurnDispatcher {
  dispatch(event: TurnEvent): Promise<void>;
}
