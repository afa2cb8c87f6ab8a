export { instrumentAnthropic, instrumentOpenAI } from './instrument-client.js';
export type { InstrumentClientOptions } from './instrument-client.js';
export { recordAiSdkEmbedUsage } from './record-ai-sdk-embed-usage.js';
export type { AiSdkEmbedOptions, AiSdkEmbedResultLike, AiSdkEmbeddingModelLike } from './record-ai-sdk-embed-usage.js';
export { aiSdkProviderName, recordAiSdkUsage } from './record-ai-sdk-usage.js';
export type { AiSdkResultLike, AiSdkStepLike, AiSdkUsageLike, MaybePromise } from './record-ai-sdk-usage.js';
export { recordAnthropicUsage, trackAnthropicStream } from './record-anthropic-usage.js';
export type { AnthropicMessageLike, AnthropicStreamEventLike, AnthropicUsageLike } from './record-anthropic-usage.js';
export { trackOpenAIRunner } from './openai-runner.js';
export type { OpenAIRunnerLike } from './openai-runner.js';
export { recordBedrockConverseUsage, trackBedrockConverseStream } from './record-bedrock-usage.js';
export type {
  BedrockConverseResponseLike,
  BedrockConverseStreamResponseLike,
  BedrockStreamEventLike,
  BedrockUsageLike,
  BedrockUsageOptions,
} from './record-bedrock-usage.js';
export { recordGeminiUsage, trackGeminiStream } from './record-gemini-usage.js';
export type { GeminiResponseLike, GeminiUsageLike } from './record-gemini-usage.js';
export {
  UNITS_PREFIX,
  UNPRICED_REASON_ATTRIBUTE,
  recordOpenAIImageUsage,
  recordOpenAISpeechUsage,
  recordOpenAITranscriptionUsage,
  trackOpenAIAudioStream,
} from './record-openai-media-usage.js';
export type { MediaUsageLike, MediaUsageOptions } from './record-openai-media-usage.js';
export { recordOpenAIUsage, trackOpenAIStream } from './record-openai-usage.js';
export type { OpenAIResponseLike, OpenAIStreamItemLike, OpenAIUsageLike } from './record-openai-usage.js';
export { USAGE_MISSING_ATTRIBUTE, USAGE_MISSING_REASON_ATTRIBUTE } from './usage-recording.js';
export type { UsageMissingReason, UsageRecordOptions } from './usage-recording.js';
