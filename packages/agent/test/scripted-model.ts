import { randomUUID } from 'node:crypto';
import { type BaseModelConfig, type Message, Model, type ModelStreamEvent } from '@strands-agents/sdk';

type Step = { tool: string; input: Record<string, unknown> } | { text: string };

/**
 * TEST ONLY: a "compromised" model that obeys a prompt injection and calls whatever tools the
 * script says, in order, ignoring the tool results. It shows what the code below the model allows.
 */
export class ScriptedModel extends Model<BaseModelConfig> {
  private config: BaseModelConfig = { modelId: 'scripted-test-model' };
  private index = 0;
  constructor(private readonly steps: Step[]) {
    super();
  }
  updateConfig(config: BaseModelConfig): void {
    this.config = { ...this.config, ...config };
  }
  getConfig(): BaseModelConfig {
    return this.config;
  }
  async *stream(_messages: Message[]): AsyncIterable<ModelStreamEvent> {
    const step = this.steps[this.index++] ?? { text: 'done' };
    yield { type: 'modelMessageStartEvent', role: 'assistant' };
    if ('tool' in step) {
      yield {
        type: 'modelContentBlockStartEvent',
        start: { type: 'toolUseStart', name: step.tool, toolUseId: `t_${randomUUID()}` },
      };
      yield {
        type: 'modelContentBlockDeltaEvent',
        delta: { type: 'toolUseInputDelta', input: JSON.stringify(step.input) },
      };
      yield { type: 'modelContentBlockStopEvent' };
      yield { type: 'modelMessageStopEvent', stopReason: 'toolUse' };
    } else {
      yield { type: 'modelContentBlockStartEvent' };
      yield { type: 'modelContentBlockDeltaEvent', delta: { type: 'textDelta', text: step.text } };
      yield { type: 'modelContentBlockStopEvent' };
      yield { type: 'modelMessageStopEvent', stopReason: 'endTurn' };
    }
  }
}

/** The tool results the scripted model received, in order (read from the agent's conversation). */
export function toolResults(messages: Message[]): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const message of messages) {
    for (const block of message.content) {
      if (block.type !== 'toolResultBlock') continue;
      for (const item of block.content)
        if (item.type === 'jsonBlock') out.push(item.json as Record<string, unknown>);
    }
  }
  return out;
}
