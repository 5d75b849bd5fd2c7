import type { Clock, ConnectionRecord, ConnectionStore } from '../ports.ts';

/** In-memory connections with the same TTL-on-read rule as the DynamoDB store; the test fake. */
export function createMemoryConnectionStore(clock: Clock = { now: () => Date.now() }): ConnectionStore & {
  records: Map<string, ConnectionRecord>;
} {
  const records = new Map<string, ConnectionRecord>();
  return {
    records,
    async put(record) {
      records.set(record.connectionId, { ...record });
    },
    async get(connectionId) {
      const record = records.get(connectionId);
      return record && record.ttl * 1000 > clock.now() ? { ...record } : undefined;
    },
    async delete(connectionId) {
      records.delete(connectionId);
    },
  };
}
