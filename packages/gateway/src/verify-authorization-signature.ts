import {
  authorizationFromWire,
  type PaymentPayload,
  transferWithAuthorizationTypedData,
} from '@agentic-payments/x402';
import { verifyTypedData } from 'viem';
import type { ChainReader } from './chain-reader.ts';
import type { ServerRequirements } from './requirements.ts';

/**
 * The EIP-712 signature of the authorization, checked here (the facilitator's verify also checks it,
 * but a replayed or stored result is answered without one). An EOA signature recovers locally; a
 * smart-wallet one (ERC-1271 / ERC-6492) is left to the chain reader when there is one.
 */
export async function verifyAuthorizationSignature(
  payment: PaymentPayload,
  requirements: ServerRequirements,
  chain: ChainReader | undefined,
): Promise<boolean> {
  const { authorization: wire, signature } = payment.payload;
  let typedData: ReturnType<typeof transferWithAuthorizationTypedData>;
  try {
    typedData = transferWithAuthorizationTypedData({
      chainId: requirements.network.chainId,
      verifyingContract: requirements.asset,
      authorization: authorizationFromWire(wire),
    });
  } catch {
    return false;
  }
  const parameters = { ...typedData, address: typedData.message.from, signature: signature as `0x${string}` };
  try {
    if (await verifyTypedData(parameters)) return true;
  } catch {
    // not an EOA signature: the chain may still accept it
  }
  return chain?.verifyTypedData === undefined ? false : chain.verifyTypedData(parameters);
}
