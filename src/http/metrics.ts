/**
 * Prometheus metrics. Labels have bounded cardinality: the matched route
 * pattern (never the raw path, which carries ids), the method and the status
 * class.
 */
import type { Request, RequestHandler } from 'express';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { createOperatorMetrics, type OperatorMetrics } from './operator-metrics.js';

export interface Metrics extends OperatorMetrics {
  registry: Registry;
  middleware: RequestHandler;
  budget: BudgetMetrics;
}

/** One decision of the upstream budget (rate-budget.ts), as the metrics see it. */
export type BudgetDecision = { allowed: true; waitMs: number } | { allowed: false; retryAfterSeconds: number };

/**
 * Notion budget decisions per workspace and partner app: bounded by the
 * workspaces Gatehouse knows times the partners granted there.
 */
export interface BudgetMetrics {
  observe(workspaceId: string, partnerKey: string, decision: BudgetDecision): void;
  /** Notion itself answered 429: the budget blocks the workspace for its Retry-After. */
  notionRateLimited(workspaceId: string): void;
}

function createBudgetMetrics(registry: Registry): BudgetMetrics {
  const labelNames = ['workspace', 'partner'];
  const granted = new Counter({
    name: 'gatehouse_upstream_budget_granted_total',
    help: 'Upstream requests granted a start by the Notion budget',
    labelNames,
    registers: [registry],
  });
  const waited = new Counter({
    name: 'gatehouse_upstream_budget_waited_total',
    help: 'Granted upstream requests that waited for their start',
    labelNames,
    registers: [registry],
  });
  const waitSeconds = new Counter({
    name: 'gatehouse_upstream_budget_wait_seconds_total',
    help: 'Seconds granted upstream requests waited for their start',
    labelNames,
    registers: [registry],
  });
  const refused = new Counter({
    name: 'gatehouse_upstream_budget_refused_total',
    help: 'Upstream requests refused by the Notion budget (the partner got 429 with Retry-After)',
    labelNames,
    registers: [registry],
  });
  const notion429 = new Counter({
    name: 'gatehouse_upstream_notion_rate_limited_total',
    help: "Notion's own 429 answers (each blocks the workspace for every partner until its Retry-After)",
    labelNames: ['workspace'],
    registers: [registry],
  });
  return {
    notionRateLimited: (workspace) => notion429.inc({ workspace }),
    observe(workspace, partner, decision) {
      const labels = { workspace, partner };
      if (!decision.allowed) return refused.inc(labels);
      granted.inc(labels);
      if (decision.waitMs > 0) {
        waited.inc(labels);
        waitSeconds.inc(labels, decision.waitMs / 1000);
      }
    },
  };
}

function routeLabel(req: Request): string {
  const route = (req as Request & { route?: { path?: unknown } }).route?.path;
  if (typeof route === 'string') return `${req.baseUrl}${route}`;
  if (req.path.startsWith('/sandbox/')) return req.path.split('/').slice(0, 3).join('/');
  if (req.path.startsWith('/static/')) return '/static';
  return 'unmatched';
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'gatehouse_http_requests_total',
    help: 'HTTP requests',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'gatehouse_http_request_duration_seconds',
    help: 'HTTP request duration',
    labelNames: ['method', 'route'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const middleware: RequestHandler = (req, res, next) => {
    const end = duration.startTimer();
    res.on('finish', () => {
      const route = routeLabel(req);
      const method = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'].includes(req.method) ? req.method : 'OTHER';
      requests.inc({ method, route, status: `${Math.floor(res.statusCode / 100)}xx` });
      end({ method, route });
    });
    next();
  };
  return { registry, middleware, budget: createBudgetMetrics(registry), ...createOperatorMetrics(registry) };
}
