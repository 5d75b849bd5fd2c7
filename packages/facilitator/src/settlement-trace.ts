import { AsyncLocalStorage } from 'node:async_hooks';
import { AppError } from '@agentic-payments/x402';
import type { Hex } from 'viem';

/**
 * What the signer did on behalf of one settle call. The official v1 scheme turns a receipt
 * timeout into `errorReason: <message>` with an empty transaction; the trace lets the
 * facilitator answer `settlement_pending` with the broadcast hash instead, for v1 and v2 alike.
 */
export interface SettlementTrace {
  /** Hashes of every transaction broadcast during this settle call, in order. */
  sent: Hex[];
  /** Set when a receipt wait ran out of time: the hash that may still be mined. */
  pending?: Hex;
  /**
   * Resolves true when the settle may broadcast. The facilitator's own replay / balance check runs
   * side by side with the official scheme's checks; no transaction leaves before it passed.
   */
  gate?: Promise<boolean>;
}

/** Thrown by the signer when the gate closed: nothing was broadcast. */
export class SettlementGateClosedError extends AppError<'settlement_gate_closed'> {
  override name = 'SettlementGateClosedError';
  constructor() {
    super(
      'settlement_gate_closed',
      'the pre-settlement check refused this settlement; nothing was broadcast',
      {
        httpStatus: 409,
      },
    );
  }
}

export const settlementTrace = new AsyncLocalStorage<SettlementTrace>();
