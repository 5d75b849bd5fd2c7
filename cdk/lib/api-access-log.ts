import { RemovalPolicy } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

/** JSON access log line for HTTP and WebSocket APIs: who called what, how it ended, how long. */
const HTTP_FORMAT = {
  requestId: '$context.requestId',
  ip: '$context.identity.sourceIp',
  requestTime: '$context.requestTime',
  routeKey: '$context.routeKey',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  latencyMs: '$context.responseLatency',
  integrationError: '$context.integrationErrorMessage',
};

const WEBSOCKET_FORMAT = {
  requestId: '$context.requestId',
  ip: '$context.identity.sourceIp',
  requestTime: '$context.requestTime',
  routeKey: '$context.routeKey',
  eventType: '$context.eventType',
  connectionId: '$context.connectionId',
  status: '$context.status',
  integrationLatencyMs: '$context.integrationLatency',
  error: '$context.error.message',
};

/** A log group and the access log settings that write one JSON line per request into it. */
export function apiAccessLog(
  scope: Construct,
  id: string,
  kind: 'http' | 'websocket',
  retentionDays: number,
): { logGroup: logs.LogGroup; settings: apigwv2.IAccessLogSettings } {
  const logGroup = new logs.LogGroup(scope, id, {
    retention: retentionDays as logs.RetentionDays,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const format = kind === 'http' ? HTTP_FORMAT : WEBSOCKET_FORMAT;
  return {
    logGroup,
    settings: {
      destination: new apigwv2.LogGroupLogDestination(logGroup),
      format: AccessLogFormat.custom(JSON.stringify(format)),
    },
  };
}
