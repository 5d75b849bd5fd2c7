import { custom, RpcRequestError, type Transport } from 'viem';
import { getHttpRpcClient } from 'viem/utils';

export interface BatchTransportOptions {
  /** Called once per HTTP request (for stats). */
  readonly onRequest?: () => void;
  /** Most calls in one request; more are split into several. */
  readonly maxBatch?: number;
  /** Per HTTP request. */
  readonly timeoutMs?: number;
  /** The HTTP client (default: the global fetch). */
  readonly fetchFn?: typeof fetch;
}

interface Pending {
  readonly body: { jsonrpc: '2.0'; id: number; method: string; params: unknown };
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * A viem transport over HTTP JSON-RPC that sends every call made during one turn of the event
 * loop (including the promise chains it started) as one batch, flushed with `setImmediate`.
 * viem's own `http({ batch })` flushes on a timer, which in Node waits at least 1 ms: measured
 * here, a devnet `eth_call` took 1.9 ms through it against 0.7 ms alone. This keeps both: side by
 * side reads (a pre-check's two calls, a tick's receipt polls) share one request, without a wait.
 *
 * Errors keep viem's shapes: a JSON-RPC error answer becomes `RpcRequestError` (so reverts decode
 * as usual), a request without an answer rejects with viem's `HttpRequestError` / `TimeoutError`.
 */
export function batchTransport(url: string, options: BatchTransportOptions = {}): Transport {
  const rpc = getHttpRpcClient(url, {
    timeout: options.timeoutMs ?? 10_000,
    ...(options.fetchFn === undefined ? {} : { fetchFn: options.fetchFn }),
  });
  const maxBatch = options.maxBatch ?? 100;
  let queue: Pending[] = [];
  let nextId = 0;

  const send = async (batch: Pending[]): Promise<void> => {
    options.onRequest?.();
    try {
      const replies =
        batch.length === 1 && batch[0]
          ? [await rpc.request({ body: batch[0].body })]
          : await rpc.request({ body: batch.map((p) => p.body) });
      const byId = new Map(replies.map((reply) => [reply.id, reply]));
      for (const pending of batch) {
        const reply = byId.get(pending.body.id);
        if (reply === undefined)
          pending.reject(new Error(`no answer for ${pending.body.method} in the batch`));
        else if (reply.error !== undefined) {
          pending.reject(new RpcRequestError({ body: pending.body, error: reply.error, url }));
        } else pending.resolve(reply.result);
      }
    } catch (error) {
      for (const pending of batch) pending.reject(error);
    }
  };

  const flush = () => {
    const all = queue;
    queue = [];
    for (let i = 0; i < all.length; i += maxBatch) void send(all.slice(i, i + maxBatch));
  };

  return custom(
    {
      request: ({ method, params }: { method: string; params?: unknown }) =>
        new Promise((resolve, reject) => {
          nextId = (nextId + 1) % Number.MAX_SAFE_INTEGER;
          queue.push({ body: { jsonrpc: '2.0', id: nextId, method, params: params ?? [] }, resolve, reject });
          if (queue.length === 1) setImmediate(flush);
        }),
    },
    { retryCount: 0 },
  );
}
