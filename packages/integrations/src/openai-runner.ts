import type { Step } from '@costspan/sdk';
import { observeOpenAIResponse, openAIRequestModel, type OpenAIResponseLike } from './record-openai-usage.js';
import {
  markUsageMissing,
  openStreamCall,
  recordObservedCall,
  reportRecordingError,
  type CallDefaults,
  type UsageRecordOptions,
} from './usage-recording.js';

/**
 * What the `openai` package's `.stream()` and `.runTools()` helpers return, structurally: an
 * event emitter (`ChatCompletionStream`, `ChatCompletionRunner`, `ChatCompletionStreamingRunner`,
 * `ResponseStream`) that emits `chatCompletion` per completed request (every round of a tool
 * loop) or `response.completed`, and `end` last, also after an error or an abort.
 */
export interface OpenAIRunnerLike {
  on(event: string, listener: (...args: never[]) => void): unknown;
  readonly errored?: boolean | undefined;
  readonly aborted?: boolean | undefined;
  /** `ChatCompletionRunner.messages`: the conversation so far, tool results included. */
  readonly messages?: ReadonlyArray<{ role?: string | undefined }> | undefined;
}

const PROVIDER = 'openai';
const FINAL_RESPONSE_EVENTS = ['response.completed', 'response.incomplete', 'response.failed'] as const;

function isAsyncIterable(value: unknown): boolean {
  return typeof value === 'object' && value !== null && typeof (value as Record<symbol, unknown>)[Symbol.asyncIterator] === 'function';
}

/**
 * Records every model call an OpenAI helper makes on `step`: each completion of
 * `chat.completions.stream()` and each round of `chat.completions.runTools()` (streaming or
 * not) as its own call, or the final response of `responses.stream()`. The runner is
 * returned as it is; only listeners are added (`chatCompletion`, `response.completed`,
 * `end`), never an `error` listener, so an unhandled error still surfaces as the `openai`
 * package intends.
 *
 * A stream without usage (`chat.completions.stream()` without
 * `stream_options: { include_usage: true }`) is marked `llm.cost.usage.missing` (`not_reported`),
 * and a helper that fails or is aborted while a request is under way is marked
 * `stream_incomplete`: never recorded as $0. A helper that has not ended when the step ends (never
 * awaited) counts as one call without usage (`stream_incomplete`), beside the step's other calls.
 *
 * @example
 * ```ts
 * await run.step('agent', async (step) => {
 *   const runner = trackOpenAIRunner(step, openai.chat.completions.runTools({ model: 'gpt-4o', messages, tools }));
 *   return runner.finalContent();
 * });
 * ```
 */
export function trackOpenAIRunner<Runner extends OpenAIRunnerLike>(step: Step, runner: Runner, options: UsageRecordOptions = {}): Runner {
  trackOpenAIRunnerWith(runner, step, { provider: PROVIDER, source: 'openai', modelFromResponse: openAIRequestModel }, options);
  return runner;
}

/** @internal Shared by {@link trackOpenAIRunner} and the instrumented client. */
export function trackOpenAIRunnerWith(runner: OpenAIRunnerLike, step: Step, given: CallDefaults, options: UsageRecordOptions): void {
  const streamed = isAsyncIterable(runner);
  const defaults: CallDefaults = { ...given, source: streamed ? 'openai_stream' : 'openai' };
  let recorded = 0;
  let lastModel: string | undefined;
  // Open until the helper's `end`: one left before it (never awaited, never ended) counts as a call
  // without usage when the step ends, beside the calls the step recorded.
  const open = { model: options.model ?? given.requestModel, provider: options.provider ?? given.provider };
  const close = openStreamCall(() => step, open);
  const named = (model: string): void => {
    lastModel = model;
    open.model ??= openAIRequestModel(model) || model;
  };
  const record = (response: OpenAIResponseLike | undefined): void => {
    try {
      if (response === undefined || response === null || typeof response !== 'object') return;
      recorded += 1;
      if (typeof response.model === 'string') named(response.model);
      recordObservedCall(step, observeOpenAIResponse(response), defaults, options);
    } catch (error) {
      reportRecordingError(error);
    }
  };
  const listen = (event: string, listener: (...args: never[]) => void): boolean => {
    try {
      runner.on(event, listener);
      return true;
    } catch (error) {
      reportRecordingError(error);
      return false;
    }
  };
  // A streamed round's usage chunk, until the round's completion is recorded: a stream cut after its usage
  // chunk never completes, but the provider reported (and billed) the call, so it is recorded from the chunk.
  let usageChunk: OpenAIResponseLike | undefined;
  if (streamed) {
    listen('chunk', (chunk: OpenAIResponseLike) => {
      if (typeof chunk === 'object' && chunk !== null && chunk.usage) usageChunk = chunk;
    });
  }
  listen('chatCompletion', (completion: OpenAIResponseLike) => {
    usageChunk = undefined;
    record(completion);
  });
  for (const event of FINAL_RESPONSE_EVENTS) listen(event, (item: { response?: OpenAIResponseLike }) => record(item?.response));
  listen('response.created', (item: { response?: OpenAIResponseLike }) => {
    if (typeof item?.response?.model === 'string') named(item.response.model);
  });
  const listening = listen('end', () => {
    close();
    try {
      const failed = runner.errored === true || runner.aborted === true;
      if (failed && usageChunk !== undefined) {
        record({ ...usageChunk, model: usageChunk.model ?? lastModel });
        usageChunk = undefined;
        return;
      }
      // A helper that ended without any response (a Responses stream without `response.completed`) lost its usage too.
      if (recorded > 0 && !(failed && requestUnderWay(runner))) return;
      const model = options.model ?? defaults.requestModel ?? (lastModel === undefined ? undefined : openAIRequestModel(lastModel));
      markUsageMissing(step, failed ? 'stream_incomplete' : 'not_reported', {
        model,
        provider: options.provider ?? defaults.provider,
        source: defaults.source,
      });
    } catch (error) {
      reportRecordingError(error);
    }
  });
  // Without an `end` to close it, the call would count as missing however the helper ended.
  if (!listening) close();
}

/**
 * Whether a failed or aborted helper that had recorded calls had another request in flight: the
 * tool loop had answered the last completion (its last message is a tool result, so the next
 * request was sent). A tool function that throws after its completion was recorded loses nothing.
 */
function requestUnderWay(runner: OpenAIRunnerLike): boolean {
  const messages = runner.messages;
  if (!Array.isArray(messages) || messages.length === 0) return false;
  const last = messages[messages.length - 1] as { role?: string } | undefined;
  return last?.role === 'tool' || last?.role === 'function';
}
