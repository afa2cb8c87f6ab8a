import { ATTR, type RecordUsageInput, type Step } from '@costspan/sdk';
import { notice } from '@costspan/sdk/internal';
import { MEDIA_PRICE_DATA, priceMediaUnits, type MediaUnit } from './media-unit-pricing.js';
import { observeIteration } from './observe-iteration.js';
import { markUsageMissing, openStreamCall, tokenCount } from './usage-recording.js';

/** Options of the OpenAI image and audio helpers: these responses do not name their model. */
export interface MediaUsageOptions {
  /** The request's model: `gpt-image-1`, `dall-e-3`, `whisper-1`, `gpt-4o-transcribe`, `tts-1`, ... */
  model: string;
  /** `gen_ai.provider.name`. Default `openai`. */
  provider?: string;
}

/** Why a call could not be priced, on the step span beside `llm.cost.pricing.status = unpriced`. */
export const UNPRICED_REASON_ATTRIBUTE = 'llm.cost.unpriced.reason';
/** Prefix of the unit counts of an image or audio call on the step span (`llm.cost.units.input_audio_seconds`). */
export const UNITS_PREFIX = 'llm.cost.units.';

const PROVIDER = 'openai';

type TokenDetails = { text_tokens?: number | null; image_tokens?: number | null; audio_tokens?: number | null } | null;

/** `usage` of an OpenAI image, transcription or speech response, structurally. */
export interface MediaUsageLike {
  type?: string | undefined;
  seconds?: number | null | undefined;
  input_tokens?: number | null | undefined;
  output_tokens?: number | null | undefined;
  input_tokens_details?: TokenDetails | undefined;
  input_token_details?: TokenDetails | undefined;
  output_tokens_details?: TokenDetails | undefined;
}

/** The units a call is billed by, with the token counts the span carries. */
function recordUnits(step: Step, options: MediaUsageOptions, units: Partial<Record<MediaUnit, number>>): RecordUsageInput {
  const provider = options.provider ?? PROVIDER;
  for (const [unit, count] of Object.entries(units)) if (count) step.span.setAttribute(`${UNITS_PREFIX}${unit}`, count);
  const input = (units.input_text_tokens ?? 0) + (units.input_image_tokens ?? 0) + (units.input_audio_tokens ?? 0);
  const output = (units.output_text_tokens ?? 0) + (units.output_image_tokens ?? 0) + (units.output_audio_tokens ?? 0);
  const call: RecordUsageInput = { model: options.model, provider, usage: { input, output } };
  const pricing = priceMediaUnits(options.model, provider, units);
  if (pricing.status === 'priced') {
    // Priced here, by unit: the processor's price table prices tokens of one kind only.
    call.cost = pricing.cost;
    step.span.setAttribute(`${UNITS_PREFIX}price_source`, MEDIA_PRICE_DATA);
  } else {
    step.span.setAttribute(UNPRICED_REASON_ATTRIBUTE, pricing.reason);
    // The processor's own cause for this model, told first and with the real reason: one line, not two.
    notice(
      `unpriced_model:${options.model}`,
      `${pricing.reason}: its calls are booked at $0, marked ${ATTR.PRICING_STATUS}=unpriced and counted in unpriced_call_count. Give the cost with the helper's cost option or step.setCost.`,
    );
  }
  step.recordUsage(call);
  return call;
}

function tokenUnits(
  usage: MediaUsageLike,
  inputKind: 'image' | 'audio',
  outputKind: 'text' | 'image' | 'audio',
): Partial<Record<MediaUnit, number>> | undefined {
  const input = tokenCount(usage.input_tokens);
  if (input === undefined) return undefined;
  const details = usage.input_tokens_details ?? usage.input_token_details ?? undefined;
  const media = tokenCount(inputKind === 'image' ? details?.image_tokens : details?.audio_tokens) ?? 0;
  const output = tokenCount(usage.output_tokens) ?? 0;
  const outputText = outputKind === 'text' ? output : (tokenCount(usage.output_tokens_details?.text_tokens) ?? 0);
  return {
    input_text_tokens: input - Math.min(media, input),
    [inputKind === 'image' ? 'input_image_tokens' : 'input_audio_tokens']: Math.min(media, input),
    output_text_tokens: outputText,
    ...(outputKind === 'text' ? {} : { [`output_${outputKind}_tokens`]: output - Math.min(outputText, output) }),
  };
}

/**
 * Records an OpenAI image generation or edit (`images.generate` / `images.edit`) on `step`.
 * `gpt-image-1` reports tokens: text and image input and image output are priced at their own
 * rates from `@pydantic/genai-prices`. `dall-e-2` / `dall-e-3` are priced per image, which that
 * data does not hold: the call is recorded and counted as unpriced with the reason on the span
 * (`llm.cost.unpriced.reason`), never a silent $0.
 *
 * @example
 * ```ts
 * recordOpenAIImageUsage(step, await openai.images.generate({ model: 'gpt-image-1', prompt }), { model: 'gpt-image-1' });
 * ```
 */
export function recordOpenAIImageUsage(
  step: Step,
  response: { usage?: MediaUsageLike | null; data?: readonly unknown[] | null },
  options: MediaUsageOptions,
): RecordUsageInput {
  const units = response.usage ? tokenUnits(response.usage, 'image', 'image') : undefined;
  return recordUnits(step, options, units ?? { output_images: Array.isArray(response.data) ? response.data.length : 1 });
}

/**
 * Records an OpenAI transcription (`audio.transcriptions.create`) on `step`: `whisper-1` by its
 * audio seconds (`usage.type = duration`), `gpt-4o-transcribe` by its audio and text input and
 * text output tokens (`usage.type = tokens`), priced from `@pydantic/genai-prices`. A response
 * without usage (`response_format: 'text'`) is marked `llm.cost.usage.missing`.
 */
export function recordOpenAITranscriptionUsage(
  step: Step,
  response: { usage?: MediaUsageLike | null },
  options: MediaUsageOptions,
): RecordUsageInput | undefined {
  const usage = response.usage ?? undefined;
  const seconds =
    usage?.type === 'duration' && typeof usage.seconds === 'number' && usage.seconds >= 0 ? Math.ceil(usage.seconds) : undefined;
  const units =
    seconds !== undefined ? { input_audio_seconds: seconds } : usage === undefined ? undefined : tokenUnits(usage, 'audio', 'text');
  if (units === undefined) {
    markUsageMissing(step, 'not_reported', { model: options.model, provider: options.provider ?? PROVIDER, source: 'openai' });
    return undefined;
  }
  return recordUnits(step, options, units);
}

/**
 * Records OpenAI text to speech (`audio.speech.create`) on `step`. The audio body carries no
 * usage: `tts-1` / `tts-1-hd` are billed per input character, which `@pydantic/genai-prices`
 * does not price, so the call is counted unpriced with the reason and the character count on the
 * span; for `gpt-4o-mini-tts`, stream it (`stream_format: 'sse'`) and use
 * {@link trackOpenAIAudioStream}, or the call is marked `llm.cost.usage.missing`.
 */
export function recordOpenAISpeechUsage(
  step: Step,
  request: { model: string; input: string },
  options: Partial<MediaUsageOptions> = {},
): RecordUsageInput | undefined {
  const model = options.model ?? request.model;
  if (!/^tts-1(?:-hd)?(?:-\d{4})?$/.test(model)) {
    markUsageMissing(step, 'not_reported', { model, provider: options.provider ?? PROVIDER, source: 'openai' });
    return undefined;
  }
  return recordUnits(step, { ...options, model }, { input_characters: [...request.input].length });
}

/**
 * Records a streamed transcription (`stream: true`: usage in `transcript.text.done`), speech
 * (`stream_format: 'sse'`: usage in `speech.audio.done`) or image generation / edit with
 * `gpt-image-1` (`stream: true`: usage in `image_generation.completed` / `image_edit.completed`)
 * on `step` when the stream has been read. Left early, or still unread when the step ends:
 * `stream_incomplete`; ended without usage: `not_reported`.
 */
export function trackOpenAIAudioStream<Stream extends AsyncIterable<{ type?: string; usage?: MediaUsageLike | null }>>(
  step: Step,
  stream: Stream,
  options: MediaUsageOptions,
): Stream {
  let final: { type?: string; usage?: MediaUsageLike | null } | undefined;
  // Open until the stream ends, however it ends: one the caller stops reading counts as a call without usage.
  const close = openStreamCall(() => step, { model: options.model, provider: options.provider ?? PROVIDER });
  observeIteration(
    stream,
    (event) => {
      if (event?.type !== undefined && FINAL_EVENTS.has(event.type) && event.usage) final = event;
    },
    (completed) => {
      close();
      const usage = final?.usage ?? undefined;
      const units =
        usage === undefined
          ? undefined
          : final?.type === 'speech.audio.done'
            ? speechUnits(usage)
            : final?.type === 'transcript.text.done'
              ? tokenUnits(usage, 'audio', 'text')
              : tokenUnits(usage, 'image', 'image');
      if (units === undefined) {
        markUsageMissing(step, completed ? 'not_reported' : 'stream_incomplete', {
          model: options.model,
          provider: options.provider ?? PROVIDER,
          source: 'openai_stream',
        });
        return;
      }
      recordUnits(step, options, units);
    },
  );
  return stream;
}

/** The stream events that carry a media call's usage. */
const FINAL_EVENTS = new Set(['transcript.text.done', 'speech.audio.done', 'image_generation.completed', 'image_edit.completed']);

/** Speech: text in, audio out. */
function speechUnits(usage: MediaUsageLike): Partial<Record<MediaUnit, number>> | undefined {
  const input = tokenCount(usage.input_tokens);
  const output = tokenCount(usage.output_tokens);
  return input === undefined || output === undefined ? undefined : { input_text_tokens: input, output_audio_tokens: output };
}
