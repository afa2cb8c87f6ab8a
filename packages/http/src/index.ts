export { RequestCostRecorder } from './request-cost-recorder.js';
export type { RequestCost, RequestCostRecorderOptions } from './request-cost-recorder.js';
export { COST_HEADERS, SSE_COST_EVENT, costHeaders } from './cost-headers.js';
export { budgetRefusalBody, budgetRefusalResponse, isBudgetRefusal } from './budget-refusal.js';
export type { BudgetRefusalOptions, BudgetRefusalResponse } from './budget-refusal.js';
export type { CostspanHttpOptions, PerRequest } from './request-run-options.js';
export { costspanNodeHandler } from './node-handler.js';
export type { NodeRequestHandler } from './node-handler.js';
export { costspanExpress, costspanExpressErrors } from './express-middleware.js';
export type { ExpressErrorMiddleware, ExpressMiddleware, ExpressNext } from './express-middleware.js';
export { costspanFastify } from './fastify-plugin.js';
export type { CostspanFastifyPlugin, FastifyInstanceLike, FastifyReplyLike, FastifyRequestLike } from './fastify-plugin.js';
export { costspanHono } from './hono-middleware.js';
export type { HonoContextLike, HonoMiddleware } from './hono-middleware.js';
export { LiveCostLedger } from './live-cost-ledger.js';
export type { LedgerGroup, LedgerSnapshot, LedgerWindow, LiveCostLedgerOptions } from './live-cost-ledger.js';
export { createCostEndpoint } from './cost-endpoint.js';
export type {
  CostEndpoint,
  CostEndpointBudgetSource,
  CostEndpointDecision,
  CostEndpointLimitStatus,
  CostEndpointOptions,
  CostEndpointRequest,
  CostEndpointResponse,
} from './cost-endpoint.js';
