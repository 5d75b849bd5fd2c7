import {
  type PaymentRecord,
  type PaymentStore,
  type RecordGuard,
  type ReserveParameters,
  type ReserveResult,
  settledRecords,
} from './payment-store.ts';

function holds(record: PaymentRecord | undefined, guard: RecordGuard): record is PaymentRecord {
  return (
    record !== undefined &&
    record.requestId === guard.requestId &&
    record.state === guard.state &&
    record.leaseUntil === guard.leaseUntil
  );
}

/**
 * In-memory payment store: a single process only (tests, and the unit-test fake). Every method runs
 * synchronously up to its first `await`, so the check-and-set is atomic within one event loop.
 */
export function createMemoryPaymentStore(): PaymentStore & { readonly records: Map<string, PaymentRecord> } {
  const records = new Map<string, PaymentRecord>();
  return {
    records,
    async reserve(params: ReserveParameters): Promise<ReserveResult> {
      const existing = records.get(params.key);
      if (existing !== undefined && existing.expiresAt > params.now) {
        return { reserved: false, existing };
      }
      const record: PaymentRecord = {
        key: params.key,
        requestId: params.requestId,
        fingerprint: params.fingerprint,
        state: params.receipt === undefined ? 'pending' : 'settled',
        leaseUntil: params.leaseUntil,
        expiresAt: params.expiresAt,
        createdAt: params.now,
        ...(params.imageId === undefined ? {} : { imageId: params.imageId }),
        ...(params.receipt === undefined ? {} : { receipt: params.receipt }),
      };
      records.set(params.key, record);
      return { reserved: true, record };
    },
    async transition(guard, update) {
      const current = records.get(guard.key);
      if (!holds(current, guard)) return undefined;
      const next: PaymentRecord = {
        ...current,
        state: update.state,
        leaseUntil: update.leaseUntil,
        expiresAt: update.expiresAt ?? current.expiresAt,
        imageId: update.imageId ?? current.imageId,
        transaction: update.transaction ?? current.transaction,
        receipt: update.receipt ?? current.receipt,
      };
      records.set(guard.key, next);
      return next;
    },
    async release(guard) {
      if (!holds(records.get(guard.key), guard)) return false;
      records.delete(guard.key);
      return true;
    },
    async saveSettled(params) {
      for (const record of settledRecords(params)) records.set(record.key, record);
    },
    async get(key, now) {
      const record = records.get(key);
      return record !== undefined && record.expiresAt > now ? record : undefined;
    },
  };
}
