import type { Step } from '@costspan/sdk';
import {
  observeAnthropicMessage,
  trackAnthropicStreamWith,
  type AnthropicMessageLike,
  type AnthropicStreamEventLike,
} from './record-anthropic-usage.js';
import {
  observeOpenAIResponse,
  openAIRequestModel,
  trackOpenAIStreamWith,
  type OpenAIResponseLike,
  type OpenAIStreamItemLike,
} from './record-openai-usage.js';
import { trackOpenAIRunnerWith, type OpenAIRunnerLike } from './openai-runner.js';
import { markUsageMissing, recordObservedCall, reportRecordingError, type CallDefaults, type ObservedCall } from './usage-recording.js';

/** Options of {@link instrumentOpenAI} and {@link instrumentAnthropic}. */
export interface InstrumentClientOptions {
  /**
   * Returns the step that calls made now belong to, or `undefined` to record
   * nothing (the call then runs untouched). Called once per call, when it is made.
   */
  getStep: () => Step | undefined;
  /**
   * `gen_ai.provider.name` of the calls. Default `openai` or `anthropic`; set it
   * for a gateway or compatible server (`openrouter`, `azure.ai.openai`, ...).
   */
  provider?: string;
  /**
   * OpenAI only: add `stream_options: { include_usage: true }` to streamed Chat
   * Completions that do not set `include_usage`, so their usage can be
   * recorded. The stream then ends with one extra chunk whose `choices` is
   * empty. Default `false`: without it, such streams are marked
   * `llm.cost.usage.missing = true`.
   */
  includeStreamUsage?: boolean;
}

type Method = (...args: unknown[]) => unknown;

interface Observer {
  observe(result: unknown): ObservedCall;
  track(stream: AsyncIterable<unknown>, step: Step, defaults: Defaults): void;
  /** Changes the request before it is sent, or returns it as it is. */
  prepare?(body: unknown): unknown;
  /** Takes the whole result when it is not a response or a stream (the `openai` helpers' runners). */
  handle?(result: unknown, step: Step, defaults: Defaults): void;
}

type Defaults = CallDefaults;

/** Which methods to wrap, by property path from the client. */
type MethodTable = { readonly [property: string]: MethodTable | Observer };

function isObserver(entry: MethodTable | Observer): entry is Observer {
  return typeof (entry as Observer).observe === 'function';
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as Record<symbol, unknown>)[Symbol.asyncIterator] === 'function';
}

function wrapMethod(
  original: Method,
  target: object,
  observer: Observer,
  options: InstrumentClientOptions,
  fallbackProvider: string,
): Method {
  return function instrumented(...args: unknown[]): unknown {
    let step: Step | undefined;
    try {
      step = options.getStep();
    } catch (error) {
      reportRecordingError(error);
    }
    if (step === undefined) return original.apply(target, args);
    const [body, ...rest] = args;
    let sent = body;
    try {
      sent = observer.prepare === undefined ? body : observer.prepare(body);
    } catch (error) {
      reportRecordingError(error);
    }
    const result = original.apply(target, [sent, ...rest]);
    const model = typeof body === 'object' && body !== null ? (body as { model?: unknown }).model : undefined;
    const defaults: Defaults = {
      provider: options.provider ?? fallbackProvider,
      // The request's model is the name, as recordOpenAIUsage and trackOpenAIStream record it.
      requestModel: typeof model === 'string' ? model : undefined,
      source: fallbackProvider === 'openai' ? 'openai' : 'anthropic',
      ...(fallbackProvider === 'openai' ? { modelFromResponse: openAIRequestModel } : {}),
    };
    const recordResult = (value: unknown): void => {
      try {
        // A stream's model is named at once. One left unread (never ended, never returned), or a
        // helper's runner left before its `end`, is its own open call: it counts as a call without
        // usage when its step ends (`stream_incomplete`), beside the step's other calls.
        if (isAsyncIterable(value) && defaults.requestModel !== undefined) step.setModel(defaults.requestModel, defaults.provider);
        if (observer.handle !== undefined) observer.handle(value, step, defaults);
        else if (isAsyncIterable(value)) observer.track(value, step, defaults);
        else recordObservedCall(step, observer.observe(value), defaults, {});
      } catch (error) {
        reportRecordingError(error);
      }
    };
    if (typeof result === 'object' && result !== null && typeof (result as PromiseLike<unknown>).then === 'function') {
      if (typeof (result as Partial<ApiPromiseLike>).asResponse === 'function') {
        recordWhenRead(result as ApiPromiseLike, recordResult, () => {
          try {
            markUsageMissing(step, 'not_reported', { model: defaults.requestModel, provider: defaults.provider, source: defaults.source });
          } catch (error) {
            reportRecordingError(error);
          }
        });
      } else {
        // A side branch on the client's own promise, registered before the caller's: it runs first.
        (result as PromiseLike<unknown>).then(recordResult, () => undefined);
      }
    } else {
      recordResult(result);
    }
    return result;
  };
}

/** The SDKs' `APIPromise`: parses the body only when read (`then`, `withResponse()`), or hands it over raw (`asResponse()`). */
type ApiPromiseLike = PromiseLike<unknown> & { asResponse: Method };

const READING_METHODS = ['then', 'catch', 'finally', 'withResponse'] as const;

/**
 * Records the client's promise when the caller reads its parsed value: a side branch registered
 * just before the caller's own, so it runs first, and the caller keeps the promise the client
 * returned with its extra methods. Reading it eagerly would parse the body that `asResponse()`
 * hands to the caller unread: a call read that way is marked as missing its usage instead.
 */
function recordWhenRead(promise: ApiPromiseLike, recordResult: (value: unknown) => void, raw: () => void): void {
  const methods = promise as unknown as Record<string, unknown>;
  const then = methods['then'] as Method;
  let seen = false;
  const read = (): void => {
    if (seen) return;
    seen = true;
    then.call(promise, recordResult, () => undefined);
  };
  const replace = (name: string, before: () => void): void => {
    const method = methods[name];
    if (typeof method !== 'function') return;
    Object.defineProperty(promise, name, {
      value: function observed(this: unknown, ...args: unknown[]): unknown {
        before();
        return (method as Method).apply(this, args);
      },
      configurable: true,
      writable: true,
    });
  };
  for (const name of READING_METHODS) replace(name, read);
  replace('asResponse', () => {
    if (seen) return;
    seen = true;
    raw();
  });
}

function instrument<Client extends object>(
  client: Client,
  table: MethodTable,
  options: InstrumentClientOptions,
  fallbackProvider: string,
  bindOthers: boolean,
): Client {
  const cache = new Map<PropertyKey, unknown>();
  return new Proxy(client, {
    get(target, property) {
      // Read with the target as receiver: getters may use private fields, which a proxy does not have.
      const value: unknown = Reflect.get(target, property);
      const entry = typeof property === 'string' && Object.hasOwn(table, property) ? table[property] : undefined;
      if (entry === undefined || value === null || (typeof value !== 'object' && typeof value !== 'function')) {
        // Client methods read private fields, which a proxy does not have: call them on the client itself.
        return bindOthers && typeof value === 'function' ? (value as Method).bind(target) : value;
      }
      const cached = cache.get(property);
      if (cached !== undefined && (cached as { original: unknown }).original === value) return (cached as { wrapped: unknown }).wrapped;
      const wrapped = isObserver(entry)
        ? typeof value === 'function'
          ? wrapMethod(value as Method, target, entry, options, fallbackProvider)
          : value
        : instrument(value, entry, options, fallbackProvider, false);
      cache.set(property, { original: value, wrapped });
      return wrapped;
    },
  });
}

const openAIObserver: Observer = {
  observe: (result) => observeOpenAIResponse(result as OpenAIResponseLike),
  track: (stream, step, defaults) => trackOpenAIStreamWith(stream as AsyncIterable<OpenAIStreamItemLike>, () => step, defaults, {}),
};

const anthropicObserver: Observer = {
  observe: (result) => observeAnthropicMessage(result as AnthropicMessageLike),
  track: (stream, step, defaults) => trackAnthropicStreamWith(stream as AsyncIterable<AnthropicStreamEventLike>, () => step, defaults, {}),
};

const runnerObserver: Observer = {
  ...openAIObserver,
  handle: (runner, step, defaults) => trackOpenAIRunnerWith(runner as OpenAIRunnerLike, step, defaults, {}),
};

function withStreamUsage(body: unknown, always = false): unknown {
  if (typeof body !== 'object' || body === null) return body;
  const request = body as { stream?: unknown; stream_options?: { include_usage?: unknown } | null };
  if ((!always && request.stream !== true) || request.stream_options?.include_usage !== undefined) return body;
  return { ...request, stream_options: { ...request.stream_options, include_usage: true } };
}

/**
 * Returns `client` (an `OpenAI` instance from the `openai` package) with
 * `chat.completions.create` / `.parse`, `responses.create` / `.parse` and
 * `embeddings.create` instrumented: every call made while
 * `options.getStep()` returns a step is recorded on that step as
 * {@link recordOpenAIUsage} would, streams (`stream: true`) as
 * {@link trackOpenAIStream} would. Everything else passes through, and the
 * client's promises are returned unchanged (`withResponse()` keeps working).
 * Recording never throws into your code: failures go to OpenTelemetry's `diag`.
 *
 * `chat.completions.stream()` / `.runTools()` and `responses.stream()` are
 * recorded as {@link trackOpenAIRunner} would: each request of a tool loop once.
 * Not covered: clients made by `withOptions()`.
 *
 * @example
 * ```ts
 * const client = new OpenAI();
 * await run.step('answer', async (step) => {
 *   // A proxy is cheap: instrument per step, or pass a getStep that finds the current one.
 *   const openai = instrumentOpenAI(client, { getStep: () => step });
 *   return openai.chat.completions.create({ model: 'gpt-4o', messages });
 * });
 * ```
 */
export function instrumentOpenAI<Client extends object>(client: Client, options: InstrumentClientOptions): Client {
  const streamUsage = options.includeStreamUsage === true;
  const chatObserver: Observer = streamUsage ? { ...openAIObserver, prepare: (body) => withStreamUsage(body) } : openAIObserver;
  return instrument(
    client,
    {
      chat: {
        completions: {
          create: chatObserver,
          parse: openAIObserver,
          // The helpers call the client's own, unwrapped `create`: each request is recorded once, here.
          stream: streamUsage ? { ...runnerObserver, prepare: (body) => withStreamUsage(body, true) } : runnerObserver,
          runTools: streamUsage ? { ...runnerObserver, prepare: (body) => withStreamUsage(body) } : runnerObserver,
        },
      },
      responses: { create: openAIObserver, parse: openAIObserver, stream: runnerObserver },
      embeddings: { create: openAIObserver },
    },
    options,
    'openai',
    true,
  );
}

/**
 * Returns `client` (an `Anthropic` instance from `@anthropic-ai/sdk`) with
 * `messages.create` instrumented: every call made while `options.getStep()`
 * returns a step is recorded on that step as {@link recordAnthropicUsage}
 * would, streams as {@link trackAnthropicStream} would. `messages.stream()`
 * and `messages.parse()` go through `create` and are recorded once.
 * Everything else passes through unchanged; recording never throws into your
 * code.
 *
 * `@anthropic-ai/sdk` 0.134 and later trace their own calls: create the
 * client with `openTelemetry: false` when a `CostSpanProcessor` sees the
 * global tracer provider, or each call is counted twice.
 *
 * @example
 * ```ts
 * const client = new Anthropic({ openTelemetry: false });
 * await run.step('answer', async (step) => {
 *   const anthropic = instrumentAnthropic(client, { getStep: () => step });
 *   return anthropic.messages.create({ model: 'claude-sonnet-4-20250514', max_tokens: 1024, messages });
 * });
 * ```
 */
export function instrumentAnthropic<Client extends object>(client: Client, options: InstrumentClientOptions): Client {
  return instrument(client, { messages: { create: anthropicObserver } }, options, 'anthropic', true);
}
