import { AppError } from '@agentic-payments/x402';
import type { Model } from '@strands-agents/sdk';
import { BedrockModel } from '@strands-agents/sdk';
import type { AgentConfig } from './config.ts';
import { OFFLINE_PLANNER_ID, OfflinePlannerModel } from './offline-planner.ts';

export interface ModelFactory {
  /** The id reported as `output.model` and in `/ping`. */
  readonly id: string;
  readonly isLlm: boolean;
  create(): Model;
}

/**
 * Builds the configured model: the offline planner (default, not an LLM), Claude on Bedrock
 * through Strands' BedrockModel (ConverseStream), or an OpenAI-compatible server.
 */
export async function createModelFactory(
  config: AgentConfig,
  overrides: { bedrockClientConfig?: Record<string, unknown> } = {},
): Promise<ModelFactory> {
  const model = config.model;
  if (model.kind === 'bedrock') {
    return {
      id: model.modelId,
      isLlm: true,
      create: () =>
        new BedrockModel({
          modelId: model.modelId,
          region: model.region,
          maxTokens: 4096,
          ...(overrides.bedrockClientConfig ? { clientConfig: overrides.bedrockClientConfig } : {}),
        }),
    };
  }
  if (model.kind === 'openai') {
    let OpenAIModel: typeof import('@strands-agents/sdk/models/openai').OpenAIModel;
    try {
      ({ OpenAIModel } = await import('@strands-agents/sdk/models/openai'));
    } catch (error) {
      throw new AppError(
        'invalid_config',
        'AGENT_MODEL=openai needs the optional "openai" package: pnpm add openai',
        {
          httpStatus: 500,
          cause: error,
        },
      );
    }
    return {
      id: model.modelId,
      isLlm: true,
      create: () =>
        new OpenAIModel({
          modelId: model.modelId,
          apiKey: model.apiKey,
          clientConfig: { baseURL: model.baseUrl },
        }) as unknown as Model,
    };
  }
  return { id: OFFLINE_PLANNER_ID, isLlm: false, create: () => new OfflinePlannerModel() };
}
