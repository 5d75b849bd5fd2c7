import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { TurnDispatcher } from '../ports.ts';
import { RealtimeError } from '../realtime-error.ts';

/**
 * Starts the turn worker with an asynchronous invoke (`InvocationType: Event`): Lambda queues the
 * event and answers 202 at once, so `$default` returns long before API Gateway's 29 s integration
 * timeout while the turn runs for minutes in the worker. The worker function is configured with no
 * retries, and the worker's conditional start drops duplicate deliveries, so a turn runs once.
 */
export function createLambdaTurnDispatcher(options: {
  client: LambdaClient;
  functionName: string;
}): TurnDispatcher {
  return {
    async dispatch(event) {
      let statusCode: number | undefined;
      try {
        ({ StatusCode: statusCode } = await options.client.send(
          new InvokeCommand({
            FunctionName: options.functionName,
            InvocationType: 'Event',
            Payload: new TextEncoder().encode(JSON.stringify(event)),
          }),
        ));
      } catch (error) {
        const name = error instanceof Error ? error.name : '';
        if (name === 'RequestEntityTooLargeException') {
          throw new RealtimeError('internal_error', 'The turn could not be handed to the worker.', {
            cause: error,
          });
        }
        throw new RealtimeError('agent_unavailable', 'The agent could not be started; try again shortly.', {
          cause: error,
        });
      }
      if (statusCode !== 202) {
        throw new RealtimeError('agent_unavailable', 'The agent could not be started; try again shortly.', {
          cause: new Error(`Invoke answered ${statusCode} instead of 202`),
        });
      }
    },
  };
}
