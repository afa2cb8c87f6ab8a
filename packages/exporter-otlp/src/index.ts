export { CostHistogramProducer } from './cost-histogram-producer.js';
export { costEventToLogRecord, timestampToHrTime } from './cost-event-log-record.js';
export { OtlpLogEventExporter } from './otlp-log-event-exporter.js';
export type { OtlpLogEventExporterOptions, OtlpLogEventExporterStats } from './otlp-log-event-exporter.js';
export type { OtlpConnectionOptions, OtlpProtocol } from './otlp-config.js';
export type { CostspanMetricsOptions, CostspanMetricsStats, MetricsExporterName } from './otlp-metrics.js';
export { createCostspanOtlp, registerCostspan } from './register-costspan.js';
export type {
  CostspanOtlp,
  CostspanOtlpOptions,
  CostspanOtlpStats,
  RegisterCostspanOptions,
  RegisteredCostspan,
} from './register-costspan.js';
export type { FlushOptions } from './setup-options.js';
export { EXPORTER_NAME, EXPORTER_VERSION } from './version.js';
