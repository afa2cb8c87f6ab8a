import { AsyncLocalStorage } from 'node:async_hooks';
import { context, createContextKey, ROOT_CONTEXT, SpanStatusCode, type Context, type Span } from '@opentelemetry/api';
import { CostspanError } from '@costspan/core';
import { stepStates } from './span-state.js';

/** OpenTelemetry context keys of the run and step whose callback runs, for spans started under a context manager. */
export const RUN_KEY: symbol = createContextKey('costspan.agent_run');
export const STEP_KEY: symbol = createContextKey('costspan.step');

/**
 * An OTel context that adds one of costspan's keys (and hides another) to `base` in one small
 * object: `Context.setValue` copies every entry of the context into a new map, and a run or a
 * step would otherwise pay two or three copies on entry. Further `setValue`s chain the same way.
 */
export class ScopeContext implements Context {
  constructor(
    private readonly base: Context,
    private readonly key: symbol,
    private readonly value: unknown,
    private readonly hidden: symbol | undefined,
  ) {}

  getValue(key: symbol): unknown {
    if (key === this.key) return this.value;
    if (key === this.hidden) return undefined;
    return this.base.getValue(key);
  }

  setValue(key: symbol, value: unknown): Context {
    return new ScopeContext(this, key, value, undefined);
  }

  deleteValue(key: symbol): Context {
    return new ScopeContext(this, key, undefined, undefined);
  }
}

/** A run or a step while its callback runs: what {@link activeScope} holds. */
export interface Scope {
  /** @internal */
  end(): void;
}

/**
 * The run or step whose callback is executing, kept by costspan itself so that runs and steps
 * nest with or without an OpenTelemetry context manager (a `BasicTracerProvider` never
 * `register()`ed has none, and OTel's context then forgets everything). One store for the
 * module, so tracers over different providers see each other's runs, as they do through the
 * OTel context.
 */
export const activeScope: AsyncLocalStorage<Scope> = new AsyncLocalStorage<Scope>();

/** A run's or step's callback. */
export type Callback<Subject, Result> = (subject: Subject) => Result;

/** Splits `(name, fn)` / `(name, options, fn)` arguments. */
export function splitArguments<Options extends object, Subject, Result>(
  optionsOrFn: Options | Callback<Subject, Result>,
  maybeFn: Callback<Subject, Result> | undefined,
  method: string,
): [Options, Callback<Subject, Result>] {
  if (typeof optionsOrFn === 'function') return [{} as Options, optionsOrFn];
  if (typeof maybeFn !== 'function') {
    // The type only: the refused argument is the caller's data and may be anything.
    throw new CostspanError({
      code: 'invalid_argument',
      field: 'fn',
      message: `${method}(name, options, fn) needs a callback; got ${typeof maybeFn}`,
    });
  }
  return [optionsOrFn ?? ({} as Options), maybeFn];
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

function fail(span: Span, error: unknown): void {
  try {
    span.recordException(error instanceof Error ? error : String(error));
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
  } catch {
    // Telemetry must not replace the user's error with its own.
  }
}

// Module-level, so entering a scope allocates no closure: the OTel context and the callback's
// subject travel as arguments.
function enterContext<Subject, Result>(spanContext: Context, fn: Callback<Subject, Result>, subject: Subject): Result {
  return context.with(spanContext, fn, undefined, subject);
}

const PROBE_KEY: symbol = createContextKey('costspan.context_probe');
const PROBE_CONTEXT: Context = ROOT_CONTEXT.setValue(PROBE_KEY, true);
/** Whether the global OTel context manager was seen carrying a context across an `await`. */
let contextPropagates = false;
let lastProbe = Number.NEGATIVE_INFINITY;

/**
 * Checks, at most once a second until it is seen to work, whether the global context manager
 * carries a context into a promise continuation. Once it does, runs and steps travel in the OTel
 * context alone and costspan's own `AsyncLocalStorage` is never entered: every store a process
 * enables is copied into every promise it creates, so a second one would tax the whole host.
 */
function probeContextPropagation(): void {
  const now = Date.now();
  if (now - lastProbe < 1000) return;
  lastProbe = now;
  try {
    context
      .with(PROBE_CONTEXT, () => Promise.resolve().then(() => context.active().getValue(PROBE_KEY) === true))
      .then(
        (propagates) => {
          contextPropagates = propagates;
        },
        () => undefined,
      );
  } catch {
    // A context manager that throws is one that does not propagate.
  }
}

/**
 * Ends the span, then lets its step state go: every processor read it while the span ended, and
 * an exporter's buffer (BatchSpanProcessor's) holds ended spans for a while, which through the
 * `WeakMap` would keep each step's state alive for as long, to be traced and copied by every
 * young-generation collection in between.
 */
function endSpan(span: Span): void {
  span.end();
  stepStates.delete(span);
}

/**
 * Runs `fn(subject)` with `spanContext` as the active OTel context (for other instrumentations'
 * spans under a context manager) and, until the context manager is known to carry contexts across
 * `await`, also with `subject` as the active scope (one `AsyncLocalStorage.run`); then ends the
 * subject and the span, also when `fn` throws or its promise rejects.
 */
export function runInSpan<Subject extends Scope, Result>(
  span: Span,
  spanContext: Context,
  subject: Subject,
  fn: Callback<Subject, Result>,
): Result {
  let result: Result;
  try {
    if (contextPropagates) {
      result = context.with(spanContext, fn, undefined, subject);
    } else {
      probeContextPropagation();
      result = activeScope.run(subject, enterContext<Subject, Result>, spanContext, fn, subject);
    }
  } catch (error) {
    fail(span, error);
    subject.end();
    endSpan(span);
    throw error;
  }
  if (!isPromiseLike(result)) {
    subject.end();
    endSpan(span);
    return result;
  }
  return Promise.resolve(result).then(
    (value) => {
      subject.end();
      endSpan(span);
      return value;
    },
    (error: unknown) => {
      fail(span, error);
      subject.end();
      endSpan(span);
      throw error;
    },
  ) as Result;
}
