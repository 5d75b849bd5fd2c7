import { randomUUID } from 'node:crypto';
import {
  type BaseModelConfig,
  type Message,
  Model,
  type ModelStreamEvent,
  type StreamOptions,
} from '@strands-agents/sdk';
import { TOOL_NAMES } from './tools.ts';

/** The model id the offline planner reports in `/ping`, logs and every reply. */
export const OFFLINE_PLANNER_ID = 'offline-planner';
export const OFFLINE_PLANNER_NOTE =
  'offline planner: a deterministic, rule-based stand-in for an LLM (not a language model); set AGENT_MODEL=bedrock for Claude';

type Json = Record<string, unknown>;

/** One step of the plan: call a tool, or answer the user. */
export type PlannerAction = { kind: 'tool'; name: string; input: Json } | { kind: 'text'; text: string };

interface ToolOutcome {
  name: string;
  status: 'success' | 'error';
  result: Json;
}

interface History {
  /** request_id estimated but not yet delivered. */
  pendingRequestId: string | undefined;
  pendingCost: string | undefined;
  lastImageId: string | undefined;
}

const PATTERNS = {
  generate:
    /\b(generate|create|draw|make|paint|render|produce|design|imagine)\b[\s\S]*\b(image|picture|photo|illustration|drawing|painting|artwork|art|portrait|logo|wallpaper|scene)\b/i,
  imageOf: /^\s*(an?\s+)?(image|picture|photo|drawing|painting)\s+of\b/i,
  analyze: /\b(analy[sz]e|analysis|monetiz|monetis|sell|market)\w*/i,
  wallet: /\b(wallet|balance|address|funds|how much (usdc|money|eth))\b/i,
  capabilities:
    /\b(what can you|what do you do|capabilit|help me|help\b|what are you|designed for|who are you|tasks)\b|^\s*(hi|hello|hey)\b/i,
  directPayment:
    /\b(pay|send|transfer|tip|give)\b[\s\S]*(\d+(\.\d+)?\s*(usdc|usd|dollars?)|\$\s*\d|0x[0-9a-f]{6,})/i,
  ignoreRules:
    /\b(ignore|bypass|skip|override|disable|forget)\b[\s\S]*\b(rules?|instructions?|confirmation|policy|limits?|consent|budget|cap)\b/i,
  endSession: /\b(end|close|finish|stop)\b[\s\S]{0,20}\b(session|channel)\b|\bnew session\b|\brefund\b/i,
  yes: /^\s*(yes|y|yep|yeah|sure|ok|okay|confirm|confirmed|approve|approved|go ahead|proceed)\b/i,
  no: /^\s*(no|n|nope|cancel|stop|don'?t|decline|never ?mind)\b/i,
};

function textOf(message: Message): string {
  return message.content
    .filter((block) => block.type === 'textBlock')
    .map((block) => (block.type === 'textBlock' ? block.text : ''))
    .join('\n')
    .trim();
}

function toolResultJson(block: Message['content'][number]): Json {
  if (block.type !== 'toolResultBlock') return {};
  for (const item of block.content) {
    if (
      item.type === 'jsonBlock' &&
      item.json &&
      typeof item.json === 'object' &&
      !Array.isArray(item.json)
    ) {
      return item.json as Json;
    }
    if (item.type === 'textBlock') {
      try {
        const parsed: unknown = JSON.parse(item.text);
        if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Json;
      } catch {
        return { message: item.text };
      }
    }
  }
  return {};
}

/** Pairs every tool result in the conversation with the name of the tool that produced it. */
function toolOutcomes(messages: Message[]): ToolOutcome[] {
  const names = new Map<string, string>();
  const outcomes: ToolOutcome[] = [];
  for (const message of messages) {
    for (const block of message.content) {
      if (block.type === 'toolUseBlock') names.set(block.toolUseId, block.name);
      if (block.type === 'toolResultBlock') {
        outcomes.push({
          name: names.get(block.toolUseId) ?? 'unknown',
          status: block.status,
          result: toolResultJson(block),
        });
      }
    }
  }
  return outcomes;
}

function readHistory(outcomes: ToolOutcome[]): History {
  const history: History = { pendingRequestId: undefined, pendingCost: undefined, lastImageId: undefined };
  for (const { name, result } of outcomes) {
    if (name === TOOL_NAMES.estimate && result.status === 'estimated') {
      history.pendingRequestId = String(result.request_id);
      history.pendingCost = String(result.cost_usdc);
    }
    if (name === TOOL_NAMES.generate && result.status === 'success') {
      history.pendingRequestId = undefined;
      history.pendingCost = undefined;
      history.lastImageId = String(result.image_id);
    }
  }
  return history;
}

function parseImageRequest(text: string): Json {
  let prompt = text.trim();
  const of =
    /\b(?:image|picture|photo|illustration|drawing|painting|artwork|portrait|wallpaper)\s+of\s+([\s\S]+)$/i.exec(
      prompt,
    );
  if (of?.[1]) {
    prompt = of[1];
  } else {
    prompt = prompt.replace(
      /^\s*(please\s+)?(can you\s+|could you\s+)?(generate|create|draw|make|paint|render|produce|design|imagine)\s+(me\s+)?(an?\s+)?/i,
      '',
    );
  }
  prompt = prompt
    .replace(/\b(in|at)\s+2048\s*x\s*2048\b|\b2048\s*x\s*2048\b|\b1024\s*x\s*1024\b/gi, '')
    .replace(/\b(in\s+)?(premium|high|hd|standard)\s+quality\b|\bpremium\b/gi, '')
    .replace(/[\s,.!?]+$/, '')
    .trim();
  const input: Json = { prompt: prompt.length > 0 ? prompt.slice(0, 1024) : text.trim().slice(0, 1024) };
  if (/2048\s*x\s*2048/i.test(text)) input.size = '2048x2048';
  if (/\bpremium\b|\bhigh quality\b|\bhd\b/i.test(text)) input.quality = 'premium';
  return input;
}

const CAPABILITIES = [
  'I can help you with several image-related tasks:',
  '',
  '🎨 Image Generation',
  '- Create images from your text descriptions (Amazon Nova Canvas in the cloud, a local procedural generator offline)',
  '- Handle the payment automatically through the x402 protocol, in USDC, within your spending limits',
  '',
  '💰 Wallet Management',
  '- Check your wallet balance (ETH and USDC)',
  '- Estimate costs for image generation before creating them',
  '',
  '🔍 Image Analysis',
  '- Analyze generated images for content monetization opportunities',
].join('\n');

function describeWallet(result: Json): string {
  const usdc = String(result.usdc ?? '0');
  const enough = Number.parseFloat(usdc) >= 0.04;
  return [
    'Here are your wallet details:',
    '',
    `Wallet Address: ${String(result.address)}`,
    `Network: ${String(result.network)} (Chain ID: ${String(result.chain_id)})`,
    '',
    'Current Balances:',
    `- ETH: ${String(result.eth)}`,
    `- USDC: ${usdc}`,
    '',
    enough
      ? `You have ${usdc} USDC, which is enough to generate images (a standard 1024x1024 image costs 0.04 USDC). This session has spent ${String(result.session_spent_usdc)} of its ${String(result.session_budget_usdc)} USDC budget.${walletBudgetLine(result)}`
      : `You have ${usdc} USDC, which is not enough for an image (a standard 1024x1024 image costs 0.04 USDC). Fund the wallet with USDC on ${String(result.network)} first.`,
  ].join('\n');
}

function walletBudgetLine(result: Json): string {
  if (result.wallet_budget_24h_usdc === undefined) return '';
  return ` The wallet has spent ${String(result.wallet_spent_24h_usdc)} of its ${String(result.wallet_budget_24h_usdc)} USDC 24-hour budget (all sessions).`;
}

function describeAnalysis(result: Json): string {
  const a = (result.analysis ?? {}) as Json;
  const list = (value: unknown) => (Array.isArray(value) ? value.map(String).join('; ') : '');
  const colors = Array.isArray(a.dominantColors)
    ? (a.dominantColors as Json[]).map((c) => `${String(c.name)} (${String(c.hex)})`).join(', ')
    : '';
  const composition = (a.composition ?? {}) as Json;
  return [
    `Here is the content monetization analysis of image ${String(result.image_id)} (analyzer: ${String(result.analyzer)}):`,
    '',
    `${String(a.summary ?? '')}`,
    '',
    ...(colors ? [`- Dominant colours: ${colors}`] : []),
    ...(composition.description ? [`- Composition: ${String(composition.description)}`] : []),
    ...(a.tags ? [`- Tags: ${list(a.tags)}`] : []),
    ...(a.suggestedUses ? [`- Suggested uses: ${list(a.suggestedUses)}`] : []),
    ...(a.platforms ? [`- Where to sell: ${list(a.platforms)}`] : []),
    ...(a.pricingIdeas ? [`- Pricing ideas: ${list(a.pricingIdeas)}`] : []),
  ].join('\n');
}

function describeFailure(what: string, result: Json): string {
  const reason = result.reason ? ` (${String(result.reason)})` : '';
  return `${what}: ${String(result.message ?? 'unknown error')}${reason}. No payment was made for it.`;
}

/** Decides the next step after a tool returned. */
function afterTool(outcome: ToolOutcome): PlannerAction {
  const r = outcome.result;
  if (outcome.status === 'error') {
    return {
      kind: 'text',
      text: `Sorry, ${outcome.name} failed: ${String(r.message ?? 'unknown error')}. Nothing was paid.`,
    };
  }
  switch (outcome.name) {
    case TOOL_NAMES.balance:
      if (r.status !== 'ok')
        return { kind: 'text', text: `I couldn't read the wallet: ${String(r.message ?? 'unknown error')}.` };
      return { kind: 'text', text: describeWallet(r) };
    case TOOL_NAMES.estimate:
      if (r.status !== 'estimated')
        return { kind: 'text', text: describeFailure("I couldn't get a price for that image", r) };
      return { kind: 'tool', name: TOOL_NAMES.generate, input: { request_id: r.request_id } };
    case TOOL_NAMES.generate:
      if (r.status === 'AUTHORIZE_CHECK') {
        if (r.consent_mode === 'confirm') {
          return {
            kind: 'text',
            text: `This image will cost ${String(r.cost_usdc)} USDC, paid from your wallet to the image service. Reply "yes" to confirm the payment, or "no" to cancel.`,
          };
        }
        return { kind: 'tool', name: TOOL_NAMES.pay, input: { request_id: r.request_id } };
      }
      if (r.status === 'success' && r.payment === 'voucher') {
        return {
          kind: 'text',
          text: [
            `🎉 Success! Your image of ${String(r.prompt)} has been generated successfully!`,
            '',
            'Image Details:',
            `- Image ID: ${String(r.image_id)}`,
            `- Cost: ${String(r.cost_usdc)} USDC, paid with a voucher on this session's payment channel (no transaction of its own; the seller claims it later in a batch)`,
            ...(r.deposit_transaction_hash
              ? [
                  `- Session deposit: ${String(r.deposit_usdc)} USDC (${String(r.deposit_transaction_hash)})`,
                  `  ${String(r.deposit_explorer_url)}`,
                ]
              : []),
            `- Left in the session channel: ${String(r.channel_remaining_usdc)} USDC (refunded when the session ends)`,
          ].join('\n'),
        };
      }
      if (r.status === 'success') {
        return {
          kind: 'text',
          text: [
            `🎉 Success! Your image of ${String(r.prompt)} has been generated successfully!`,
            '',
            'Image Details:',
            `- Image ID: ${String(r.image_id)}`,
            `- Cost: ${String(r.cost_usdc)} USDC`,
            `- Payment settled on ${String(r.network)}`,
            ...(r.explorer_url
              ? [`- Transaction: ${String(r.transaction_hash)}`, `  ${String(r.explorer_url)}`]
              : []),
          ].join('\n'),
        };
      }
      return { kind: 'text', text: describeFailure('The image could not be generated', r) };
    case TOOL_NAMES.pay:
      if (r.status === 'authorized')
        return { kind: 'tool', name: TOOL_NAMES.generate, input: { request_id: r.request_id } };
      if (r.status === 'confirmation_required') {
        return {
          kind: 'text',
          text: `Before I pay ${String(r.cost_usdc)} USDC I need your explicit confirmation: reply "yes" to pay, or "no" to cancel.`,
        };
      }
      if (r.status === 'insufficient_balance') {
        return {
          kind: 'text',
          text: `I can't pay for this image: your wallet holds ${String(r.balance_usdc)} USDC and the image costs ${String(r.cost_usdc)} USDC. Nothing was charged. Add USDC to the wallet and ask again.`,
        };
      }
      return { kind: 'text', text: describeFailure("I can't make this payment", r) };
    case TOOL_NAMES.endSession:
      if (r.status === 'refunded') {
        return {
          kind: 'text',
          text: [
            `The session has ended. ${String(r.refunded_usdc)} USDC that it did not spend was refunded to your wallet.`,
            ...(r.transaction_hash
              ? [`- Refund: ${String(r.transaction_hash)}`, `  ${String(r.explorer_url)}`]
              : []),
          ].join('\n'),
        };
      }
      return { kind: 'text', text: String(r.message ?? 'The session has ended.') };
    case TOOL_NAMES.analyze:
      if (r.status !== 'analyzed')
        return { kind: 'text', text: String(r.message ?? 'There is no image to analyze yet.') };
      return { kind: 'text', text: describeAnalysis(r) };
    default:
      return { kind: 'text', text: `I received a result from ${outcome.name} that I can't use.` };
  }
}

/** Decides the first step for a new user message. */
function forUser(text: string, history: History): PlannerAction {
  if (history.pendingRequestId && PATTERNS.yes.test(text) && !PATTERNS.directPayment.test(text)) {
    return { kind: 'tool', name: TOOL_NAMES.pay, input: { request_id: history.pendingRequestId } };
  }
  if (history.pendingRequestId && PATTERNS.no.test(text)) {
    return {
      kind: 'text',
      text: `Okay, I won't pay for it. Nothing was charged${history.pendingCost ? ` (the image would have cost ${history.pendingCost} USDC)` : ''}. Ask for another image any time.`,
    };
  }
  const wantsImage = PATTERNS.generate.test(text) || PATTERNS.imageOf.test(text);
  if (PATTERNS.directPayment.test(text) || (PATTERNS.ignoreRules.test(text) && !wantsImage)) {
    return {
      kind: 'text',
      text: "I can't do that. I only pay the configured image service, for an image you asked for, at the price I estimated and within this session's spending limits; those rules are enforced by the payment code, not by me, so they can't be skipped or changed from the chat. I'm happy to generate an image for you.",
    };
  }
  if (wantsImage) return { kind: 'tool', name: TOOL_NAMES.estimate, input: parseImageRequest(text) };
  if (PATTERNS.analyze.test(text)) {
    return {
      kind: 'tool',
      name: TOOL_NAMES.analyze,
      input: history.lastImageId ? { image_id: history.lastImageId } : {},
    };
  }
  if (PATTERNS.endSession.test(text)) return { kind: 'tool', name: TOOL_NAMES.endSession, input: {} };
  if (PATTERNS.wallet.test(text)) return { kind: 'tool', name: TOOL_NAMES.balance, input: {} };
  if (PATTERNS.capabilities.test(text)) return { kind: 'text', text: CAPABILITIES };
  return {
    kind: 'text',
    text: `I'm not sure how to help with that. ${CAPABILITIES.replace('I can help you with several image-related tasks:', 'Here is what I can do:')}\n\n(I am the offline planner, a rule-based stand-in for an LLM, so phrase requests like "Generate an image of a futuristic city at sunset".)`,
  };
}

/**
 * Reads the conversation the way a capable model would for the seed's flow and returns the next step.
 *
 * @example
 * planNextAction(agent.messages) // { kind: 'tool', name: 'estimate_image_cost', input: { prompt: 'a futuristic city at sunset' } }
 */
export function planNextAction(messages: Message[]): PlannerAction {
  const last = messages.at(-1);
  if (last?.role !== 'user') return { kind: 'text', text: CAPABILITIES };
  const outcomes = toolOutcomes(messages);
  const results = last.content.filter((block) => block.type === 'toolResultBlock');
  if (results.length > 0) {
    const outcome = outcomes.at(-1);
    if (outcome) return afterTool(outcome);
  }
  return forUser(textOf(last), readHistory(outcomes));
}

export interface OfflinePlannerConfig extends BaseModelConfig {
  modelId?: string;
}

/**
 * The embedded default model: a Strands `Model` that streams the events a model would (text deltas,
 * tool-use blocks, stop reasons) for the plan `planNextAction` makes. It is not an LLM.
 */
export class OfflinePlannerModel extends Model<OfflinePlannerConfig> {
  private config: OfflinePlannerConfig = { modelId: OFFLINE_PLANNER_ID };

  updateConfig(modelConfig: OfflinePlannerConfig): void {
    this.config = { ...this.config, ...modelConfig };
  }

  getConfig(): OfflinePlannerConfig {
    return this.config;
  }

  async *stream(messages: Message[], _options?: StreamOptions): AsyncIterable<ModelStreamEvent> {
    const action = planNextAction(messages);
    yield { type: 'modelMessageStartEvent', role: 'assistant' };
    if (action.kind === 'tool') {
      yield {
        type: 'modelContentBlockStartEvent',
        start: {
          type: 'toolUseStart',
          name: action.name,
          toolUseId: `tooluse_${randomUUID().replaceAll('-', '')}`,
        },
      };
      yield {
        type: 'modelContentBlockDeltaEvent',
        delta: { type: 'toolUseInputDelta', input: JSON.stringify(action.input) },
      };
      yield { type: 'modelContentBlockStopEvent' };
      yield { type: 'modelMessageStopEvent', stopReason: 'toolUse' };
    } else {
      yield { type: 'modelContentBlockStartEvent' };
      yield { type: 'modelContentBlockDeltaEvent', delta: { type: 'textDelta', text: action.text } };
      yield { type: 'modelContentBlockStopEvent' };
      yield { type: 'modelMessageStopEvent', stopReason: 'endTurn' };
    }
    yield {
      type: 'modelMetadataEvent',
      usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
      metrics: { latencyMs: 0 },
    };
  }
}
