import type { NodeHttpHandler } from '@smithy/node-http-handler';

/**
 * One AWS API call an adapter made, as the SDK saw it (middleware) or as it went on the wire
 * (recording request handler): the service's SDK client, the operation and its input.
 */
export interface AwsCall {
  /** SDK client name: `DynamoDBClient`, `S3Client`, `BedrockRuntimeClient`, ... */
  readonly client: string;
  /** Operation without the `Command` suffix: `BatchWriteItem`, `GetObject`, `ConverseStream`, ... */
  readonly operation: string;
  readonly input: Record<string, unknown>;
  readonly region: string;
  /** Host and path the request went to (ARNs of some services live there, e.g. execute-api). */
  readonly hostname: string;
  readonly path: string;
  /** The error name when the call failed (`NoSuchKey`, `GoneException`, ...). */
  readonly error?: string;
}

/** What IAM evaluates for one call: the action, the resource ARN and the request's condition keys. */
export interface Requirement {
  readonly action: string;
  readonly resource: string;
  readonly context?: Readonly<Record<string, string>>;
  /** Why this permission is needed (shown when it is missing). */
  readonly because: string;
}

export type CallSink = (call: AwsCall) => void;

/** The subset of an SDK v3 client the recorder needs (every `@aws-sdk/client-*` client has it). */
export interface RecordableClient {
  readonly middlewareStack: {
    add(middleware: unknown, options: { step: 'build'; name: string; override?: boolean }): void;
  };
  readonly config: { region: unknown };
}

type BuildArgs = { input: Record<string, unknown>; request: { hostname?: string; path?: string } };
type Context = { clientName?: string; commandName?: string };

/**
 * Adds a `build`-step middleware that reports every call the client makes (including presigned
 * requests, which run the same stack up to signing) to `sink`, with the error name if it failed.
 * Build runs once per call, before retries, after the endpoint is resolved.
 *
 * @example
 * const s3 = recordCalls(new S3Client({ endpoint }), (call) => calls.push(call));
 */
export function recordCalls<T extends RecordableClient>(client: T, sink: CallSink): T {
  const regionOf = async (): Promise<string> => {
    const region = client.config.region;
    return typeof region === 'function' ? String(await region()) : String(region);
  };
  client.middlewareStack.add(
    (next: (args: BuildArgs) => Promise<unknown>, context: Context) => async (args: BuildArgs) => {
      const base = {
        client: context.clientName ?? 'unknown',
        operation: (context.commandName ?? 'unknown').replace(/Command$/, ''),
        input: args.input,
        region: await regionOf(),
        hostname: args.request.hostname ?? '',
        path: args.request.path ?? '',
      };
      try {
        const result = await next(args);
        sink(base);
        return result;
      } catch (error) {
        sink({ ...base, error: error instanceof Error ? error.name : String(error) });
        throw error;
      }
    },
    { step: 'build', name: 'iamContractRecorder', override: true },
  );
  return client;
}

type WireRequest = Parameters<NodeHttpHandler['handle']>[0];
type RequestHandlerLike = Pick<NodeHttpHandler, 'handle' | 'destroy' | 'metadata'>;

/**
 * Bedrock Runtime's REST routes (restJson1): POST /model/{modelId}/{invoke|invoke-with-response-stream|converse|converse-stream}.
 * https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html
 */
const BEDROCK_RUNTIME_ROUTE =
  /^\/model\/([^/]+)\/(invoke|invoke-with-response-stream|converse|converse-stream)$/;
const BEDROCK_RUNTIME_OPERATIONS: Record<string, string> = {
  invoke: 'InvokeModel',
  'invoke-with-response-stream': 'InvokeModelWithResponseStream',
  converse: 'Converse',
  'converse-stream': 'ConverseStream',
};
/** API Gateway Management API: {POST|GET|DELETE} /{stage}/@connections/{connectionId}. */
const MANAGEMENT_ROUTE = /^\/(?:([^/]+)\/)?@connections\/([^/]+)$/;
const MANAGEMENT_OPERATIONS: Record<string, string> = {
  POST: 'PostToConnection',
  GET: 'GetConnection',
  DELETE: 'DeleteConnection',
};

/**
 * A request handler for clients an adapter builds itself from a config object (Strands'
 * BedrockModel, the API Gateway messenger): it reads the call off the wire request, reports it, then
 * sends the request to `target` (a local stand-in) instead of AWS. Knows the REST routes of Bedrock
 * Runtime and the API Gateway Management API; anything else fails the call loudly.
 */
export function recordingRequestHandler(options: {
  readonly target: string;
  readonly region: string;
  readonly forward: NodeHttpHandler;
  readonly sink: CallSink;
}): RequestHandlerLike {
  const target = new URL(options.target);
  return {
    metadata: options.forward.metadata,
    async handle(request: WireRequest, handlerOptions?: Parameters<NodeHttpHandler['handle']>[1]) {
      const path = decodeURIComponent(request.path);
      const bedrock = BEDROCK_RUNTIME_ROUTE.exec(path);
      const management = MANAGEMENT_ROUTE.exec(path);
      let call: AwsCall;
      if (bedrock) {
        call = {
          client: 'BedrockRuntimeClient',
          operation: BEDROCK_RUNTIME_OPERATIONS[bedrock[2] ?? ''] ?? 'unknown',
          input: { modelId: bedrock[1] },
          region: options.region,
          hostname: request.hostname,
          path,
        };
      } else if (management) {
        call = {
          client: 'ApiGatewayManagementApiClient',
          operation: MANAGEMENT_OPERATIONS[request.method] ?? 'unknown',
          input: { ConnectionId: management[2] },
          region: options.region,
          hostname: request.hostname,
          path,
        };
      } else {
        throw new Error(`recordingRequestHandler: no known AWS route for ${request.method} ${request.path}`);
      }
      options.sink(call);
      const forwarded = Object.assign(request.clone(), {
        protocol: target.protocol,
        hostname: target.hostname,
        port: Number(target.port),
      });
      forwarded.headers.host = target.host;
      return options.forward.handle(forwarded, handlerOptions);
    },
    destroy: () => options.forward.destroy(),
  };
}

/** The account the contract's stand-in world lives in (IAM ARNs need one). */
export const CONTRACT_ACCOUNT = '123456789012';

/**
 * Geography prefixes of Bedrock's cross-Region (system-defined) inference profiles and Regions they
 * route to. A request through a profile is authorized on the profile in the source Region and on
 * the foundation model in whichever destination Region serves it, with `bedrock:InferenceProfileArn`
 * set to the profile ("Geographic cross-Region inference", Bedrock user guide). Destinations differ
 * per model and AWS adds Regions to profiles over time, so the contract asks for every Region a
 * profile of that geography routes to in the guide's tables: a policy that pins a list fails.
 * `global` routes to any commercial Region; IAM sees those foundation-model ARNs without a Region.
 */
export const PROFILE_DESTINATIONS: Record<string, readonly string[]> = {
  us: ['us-east-1', 'us-east-2', 'us-west-1', 'us-west-2'],
  eu: ['eu-central-1', 'eu-north-1', 'eu-south-1', 'eu-south-2', 'eu-west-1', 'eu-west-3'],
  apac: [
    'ap-northeast-1',
    'ap-northeast-2',
    'ap-northeast-3',
    'ap-south-1',
    'ap-southeast-1',
    'ap-southeast-2',
  ],
  global: ['', 'us-east-1', 'eu-west-1', 'ap-northeast-1'],
};

function bedrockModelRequirements(action: string, modelId: string, region: string): Requirement[] {
  if (modelId.startsWith('arn:')) return [{ action, resource: modelId, because: `${action} ${modelId}` }];
  const geography = /^(us|eu|apac|global)\.(.+)$/.exec(modelId);
  if (!geography) {
    return [
      {
        action,
        resource: `arn:aws:bedrock:${region}::foundation-model/${modelId}`,
        because: `${action} on the foundation model ${modelId}`,
      },
    ];
  }
  const profileArn = `arn:aws:bedrock:${region}:${CONTRACT_ACCOUNT}:inference-profile/${modelId}`;
  const destinations = PROFILE_DESTINATIONS[geography[1] ?? ''] ?? [];
  return [
    { action, resource: profileArn, because: `${action} through the inference profile ${modelId}` },
    ...destinations.map((destination) => ({
      action,
      resource: `arn:aws:bedrock:${destination}::foundation-model/${geography[2]}`,
      context: { 'bedrock:InferenceProfileArn': profileArn },
      because: `the profile ${modelId} routes to ${geography[2]} in ${destination || 'any commercial Region'}`,
    })),
  ];
}

const arnFromInput = (value: unknown, what: string): string => {
  if (typeof value !== 'string' || !value.startsWith('arn:'))
    throw new Error(`${what}: expected an ARN, got ${String(value)}`);
  return value;
};

/**
 * The IAM permissions AWS evaluates for one call, per the Service Authorization Reference of each
 * service. A call this function does not know fails the contract (add its service here).
 */
export function requirementsOf(call: AwsCall): Requirement[] {
  const { operation, input, region } = call;
  const single = (action: string, resource: string, because = `${call.client} ${operation}`) => [
    { action, resource, because },
  ];
  switch (call.client) {
    case 'DynamoDBClient': {
      // BatchWriteItem / BatchGetItem are authorized per table they touch.
      const tables =
        typeof input.TableName === 'string'
          ? [input.TableName]
          : Object.keys((input.RequestItems as Record<string, unknown> | undefined) ?? {});
      return tables.map((table) => ({
        action: `dynamodb:${operation}`,
        resource: `arn:aws:dynamodb:${region}:${CONTRACT_ACCOUNT}:table/${table}`,
        because: `${operation} on table ${table}`,
      }));
    }
    case 'S3Client': {
      const bucket = String(input.Bucket);
      const objectArn = `arn:aws:s3:::${bucket}/${String(input.Key)}`;
      const read = operation === 'GetObject' || operation === 'HeadObject';
      const action = read ? 's3:GetObject' : `s3:${operation}`;
      const requirements: Requirement[] = [
        { action, resource: objectArn, because: `${operation} ${objectArn}` },
      ];
      // "If you don't have the s3:ListBucket permission, Amazon S3 returns an HTTP status code 403
      // ("access denied") error" for a key that does not exist (GetObject / HeadObject API reference).
      if (read && (call.error === 'NoSuchKey' || call.error === 'NotFound')) {
        requirements.push({
          action: 's3:ListBucket',
          resource: `arn:aws:s3:::${bucket}`,
          because: `${operation} of a missing key must answer 404 (NoSuchKey), which S3 does only with s3:ListBucket on the bucket (else 403)`,
        });
      }
      return requirements;
    }
    case 'BedrockRuntimeClient': {
      // Converse is authorized as InvokeModel, ConverseStream as InvokeModelWithResponseStream.
      const action =
        operation === 'Converse' || operation === 'InvokeModel'
          ? 'bedrock:InvokeModel'
          : 'bedrock:InvokeModelWithResponseStream';
      return bedrockModelRequirements(action, String(input.modelId), region);
    }
    case 'BedrockAgentCoreClient': {
      if (operation === 'InvokeAgentRuntime') {
        const runtime = arnFromInput(input.agentRuntimeArn, 'InvokeAgentRuntime agentRuntimeArn');
        const qualifier = typeof input.qualifier === 'string' ? input.qualifier : 'DEFAULT';
        return [
          {
            action: 'bedrock-agentcore:InvokeAgentRuntime',
            resource: runtime,
            because: 'InvokeAgentRuntime',
          },
          {
            action: 'bedrock-agentcore:InvokeAgentRuntime',
            resource: `${runtime}/runtime-endpoint/${qualifier}`,
            because: `InvokeAgentRuntime on endpoint ${qualifier}`,
          },
        ];
      }
      // Memory data plane (CreateEvent, ListEvents, GetEvent, ...): the memory resource.
      return single(
        `bedrock-agentcore:${operation}`,
        `arn:aws:bedrock-agentcore:${region}:${CONTRACT_ACCOUNT}:memory/${String(input.memoryId)}`,
      );
    }
    case 'SecretsManagerClient':
      return single(`secretsmanager:${operation}`, arnFromInput(input.SecretId, `${operation} SecretId`));
    case 'ApiGatewayManagementApiClient': {
      // https://{apiId}.execute-api.{region}.amazonaws.com/{stage}/@connections/{id}: ManageConnections
      // on arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/{METHOD}/@connections/{id}.
      const apiId = call.hostname.split('.')[0];
      const stage = MANAGEMENT_ROUTE.exec(call.path)?.[1] ?? '';
      const method = Object.entries(MANAGEMENT_OPERATIONS).find(([, op]) => op === operation)?.[0] ?? 'POST';
      return single(
        'execute-api:ManageConnections',
        `arn:aws:execute-api:${region}:${CONTRACT_ACCOUNT}:${apiId}/${stage}/${method}/@connections/${String(input.ConnectionId)}`,
      );
    }
    case 'LambdaClient': {
      // Invoke is authorized as lambda:InvokeFunction on the function (a name, or a full ARN).
      const name = String(input.FunctionName);
      const resource = name.startsWith('arn:')
        ? name
        : `arn:aws:lambda:${region}:${CONTRACT_ACCOUNT}:function:${name}`;
      return single(`lambda:${operation === 'Invoke' ? 'InvokeFunction' : operation}`, resource);
    }
    default:
      throw new Error(
        `iam contract: no IAM mapping for ${call.client} ${operation}; add it to requirementsOf`,
      );
  }
}
