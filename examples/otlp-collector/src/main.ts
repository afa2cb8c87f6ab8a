import { diag, DiagConsoleLogger, DiagLogLevel } from '@opentelemetry/api';
import { runAgent } from './agent.js';

diag.setLogger(new DiagConsoleLogger(), DiagLogLevel.WARN);

const stats = await runAgent();
const { events, spans, metrics } = stats;
console.log(
  `cost events: ${events.exported} exported, ${events.failed} failed, ${events.dropped} dropped, ${events.pending} unsettled (${events.retried} retries)`,
);
console.log(
  `spans:       ${spans.exported} exported, ${spans.failed} failed, ${spans.dropped} dropped, ${spans.pending} unsettled (${spans.retried} retries)`,
);
console.log(`metrics:     ${metrics.exported} data points exported, ${metrics.failed} failed (${metrics.retried} retries)`);
if (events.exported < events.queued || spans.failed + spans.dropped + spans.pending > 0) {
  console.log('Not everything reached the collector: is one listening on http://127.0.0.1:4318? See README.md.');
}
