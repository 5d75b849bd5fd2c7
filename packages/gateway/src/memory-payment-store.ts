import type { LedgerRecord, PaymentStore } from './payment-store.ts';

/**
 * In-memory payment store: a single process only (unit tests). Every method runs synchronously up
 * to its first `await`, so each compare-and-set is atomic within one event loop.
 */
export function createMemoryPaymentStore(): PaymentStore & { readonly records: Map<string, LedgerRecord> } {
  const records = new Map<string, LedgerRecord>();
  return {
    records,
    async create(record, now) {
      const existing = records.get(record.key);
      if (existing !== undefined && existing.expiresAt > now) return { created: false, existing };
      records.set(record.key, record);
      return { created: true };
    },
    async replace(record, expectedVersion) {
      const existing = records.get(record.key);
      if (existing === undefined || existing.version !== expectedVersion)
        return { replaced: false, existing };
      records.set(record.key, record);
      return { replaced: true };
    },
    async remove(key, expectedVersion) {
      if (records.get(key)?.version !== expectedVersion) return false;
      records.delete(key);
      return true;
    },
    async put(record) {
      records.set(record.key, record);
    },
    async get(key, now) {
      const record = records.get(key);
      return record !== undefined && record.expiresAt > now ? record : undefined;
    },
  };
}
