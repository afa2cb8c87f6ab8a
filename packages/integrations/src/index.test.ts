import { describe, expect, it } from 'vitest';
import * as integrations from './index.js';

describe('public API', () => {
  it('exports exactly these values', () => {
    expect(Object.keys(integrations).sort()).toEqual([
      'UNITS_PREFIX',
      'UNPRICED_REASON_ATTRIBUTE',
      'USAGE_MISSING_ATTRIBUTE',
      'USAGE_MISSING_REASON_ATTRIBUTE',
      'aiSdkProviderName',
      'instrumentAnthropic',
      'instrumentOpenAI',
      'recordAiSdkEmbedUsage',
      'recordAiSdkUsage',
      'recordAnthropicUsage',
      'recordBedrockConverseUsage',
      'recordGeminiUsage',
      'recordOpenAIImageUsage',
      'recordOpenAISpeechUsage',
      'recordOpenAITranscriptionUsage',
      'recordOpenAIUsage',
      'trackAnthropicStream',
      'trackBedrockConverseStream',
      'trackGeminiStream',
      'trackOpenAIAudioStream',
      'trackOpenAIRunner',
      'trackOpenAIStream',
    ]);
    expect(integrations.USAGE_MISSING_ATTRIBUTE).toBe('llm.cost.usage.missing');
  });
});
