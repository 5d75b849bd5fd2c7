import type { TurnRegistry } from '../ports.ts';

interface TurnRecord {
  turnId: string;
  state: 'queued' | 'running';
  /** Epoch seconds, as the DynamoDB record's `ttl`. */
  ttl: number;
}

/** In-memory turn records with the DynamoDB adapter's conditions; the test fake. */
export function createMemoryTurnRegistry(options: { leaseSeconds: number }): TurnRegistry & {
  records: Map<string, TurnRecord>;
} {
  const records = new Map<string, TurnRecord>();
  return {
    records,
    async begin({ sessionId, turnId, nowMs }) {
      const nowSeconds = Math.floor(nowMs / 1000);
      const current = records.get(sessionId);
      if (current && current.ttl > nowSeconds) return false;
      records.set(sessionId, { turnId, state: 'queued', ttl: nowSeconds + options.leaseSeconds });
      return true;
    },
    async start({ sessionId, turnId, nowMs }) {
      const nowSeconds = Math.floor(nowMs / 1000);
      const current = records.get(sessionId);
      if (!current || current.turnId !== turnId || current.state !== 'queued' || current.ttl <= nowSeconds) {
        return false;
      }
      records.set(sessionId, { turnId, state: 'running', ttl: nowSeconds + options.leaseSeconds });
      return true;
    },
    async finish({ sessionId, turnId }) {
      if (records.get(sessionId)?.turnId === turnId) records.delete(sessionId);
    },
  };
}
