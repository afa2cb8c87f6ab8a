export { ATTR } from './attributes.js';
export type { BudgetGate, BudgetReservation, BudgetReserveRequest, BudgetSpend, Principal } from './budget-gate.js';
export { COST_EVENT_TYPES, SCHEMA_VERSION, canonicalJson, parseCostEvent, serializeEvent, validateCostEvent } from './events/cost-event.js';
export type {
  AttributedPayload,
  AttributionType,
  BudgetRefusalWire,
  CostBreakdownWire,
  CostEvent,
  CostEventPayloads,
  CostEventType,
  PricingStatus,
  SessionRecordedPayload,
  TokenRecordedPayload,
  TokenUsageWire,
} from './events/cost-event.js';
export { COST_METRICS } from './metrics/cost-metrics.js';
export type { CostMetricsOptions } from './metrics/cost-metrics.js';
export type { CostHistogramLink, HistogramAccumulator, OwnHistogram } from './metrics/own-histograms.js';
export { PRINCIPAL_METRIC_ATTRIBUTES } from './metrics/principal-cardinality.js';
export type { PrincipalCardinalityOptions, PrincipalMetricKey } from './metrics/principal-cardinality.js';
export { CostRecordingSampler } from './processing/cost-recording-sampler.js';
export { CostSpanProcessor } from './processing/cost-span-processor.js';
export type { CostSpanProcessorOptions, CostSpanProcessorStats } from './processing/cost-span-processor.js';
export { addTotals, totalCost } from './processing/cost-totals.js';
export type { CostTotals } from './processing/cost-totals.js';
export { CostTracker } from './events/cost-tracker.js';
export type { CostGroupSummary, CostSummary } from './events/cost-tracker.js';
export { AgentRun, CostTracer, Step, createCostTracer } from './tracing/cost-tracer.js';
export type { AgentRunOptions, CostTracerOptions, RecordUsageInput, ReserveInput, StepOptions } from './tracing/cost-tracer.js';
export { setupCostspan } from './setup-costspan.js';
export type { Costspan, SetupCostspanOptions } from './setup-costspan.js';
export { EventPipeline } from './export/event-pipeline.js';
export type { EventExporterStats, EventPipelineOptions, EventPipelineStats } from './export/event-pipeline.js';
export type { CostEventListener, EventExporter, EventExportResult } from './export/event-exporter.js';
export { EventSigner, createSigningKey } from './events/event-signer.js';
export type { EventSignerOptions } from './events/event-signer.js';
export { InMemoryEventExporter } from './export/in-memory-event-exporter.js';
export { JsonlEventExporter } from './export/jsonl-event-exporter.js';
export type { JsonlEventExporterOptions } from './export/jsonl-event-exporter.js';
export type { CostInput, TokenUsageInput } from './tracing/usage-input.js';
export { setNoticeHandler } from './notice.js';
export type { CostspanNotice, NoticeHandler } from './notice.js';
export { SDK_NAME, SDK_VERSION } from './version.js';
export { CostspanError } from '@costspan/core';
export type { CostspanErrorCode } from '@costspan/core';
