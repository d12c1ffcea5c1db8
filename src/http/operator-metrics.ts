/**
 * The metrics an operator graphs beside the HTTP ones: Notion's latency and
 * answers, why partners were told 429, tokens issued, refreshed and revoked,
 * page-index progress and errors, and which build runs. Every label has a
 * small fixed set of values.
 */
import fs from 'node:fs';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Why a partner (or Gatehouse's own background work) was refused an upstream call with 429. */
export type RateLimitReason = 'budget' | 'blocked' | 'notion';

export interface UpstreamMetrics {
  /** One request to Notion's API: its time and what came back ("2xx", the error status, "timeout" or "error"). */
  response(seconds: number, status: string): void;
  rateLimited(reason: RateLimitReason): void;
}

export interface TokenMetrics {
  /** A code redeemed for a token pair. */
  issued(): void;
  /** A refresh token rotated for a new pair. */
  refreshed(): void;
  /** Tokens revoked, by why: the RFC 7009 endpoint, a replayed code, a reused refresh token, a revoked grant. */
  revoked(reason: 'revocation_endpoint' | 'code_replay' | 'refresh_reuse' | 'grant', count: number): void;
}

export interface IndexMetrics {
  /** Objects read from Notion's search by one page of an index run. */
  objects(count: number): void;
  run(outcome: 'ready' | 'failed'): void;
  /** The index state of every active connection, read at each scrape. */
  watchStates(read: () => Promise<string[]>): void;
}

export interface OperatorMetrics {
  upstream: UpstreamMetrics;
  tokens: TokenMetrics;
  index: IndexMetrics;
}

/** The status label of one Notion call that threw (@notionhq/client's errors carry the HTTP status or a code). */
export function upstreamStatusOf(err: unknown): string {
  const e = err as { status?: unknown; code?: unknown; name?: unknown };
  if (typeof e?.status === 'number' && e.status >= 100 && e.status < 600) return String(e.status);
  if (e?.code === 'notionhq_client_request_timeout' || e?.name === 'TimeoutError') return 'timeout';
  return 'error';
}

function packageVersion(): string {
  try {
    const file = new URL('../../package.json', import.meta.url);
    return String((JSON.parse(fs.readFileSync(file, 'utf8')) as { version?: unknown }).version ?? 'unknown');
  } catch {
    return 'unknown';
  }
}

export function createOperatorMetrics(registry: Registry): OperatorMetrics {
  const registers = [registry];
  new Gauge({
    name: 'gatehouse_build_info',
    help: 'The running build: always 1, with the version and the Node.js version as labels',
    labelNames: ['version', 'node'],
    registers,
  }).set({ version: packageVersion(), node: process.version }, 1);

  const upstreamSeconds = new Histogram({
    name: 'gatehouse_upstream_request_duration_seconds',
    help: "Time of one request to Notion's API, after any wait for the budget",
    labelNames: ['status'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
    registers,
  });
  const upstreamResponses = new Counter({
    name: 'gatehouse_upstream_responses_total',
    help: "Notion's answers to Gatehouse, by status (2xx, the error status, timeout, error)",
    labelNames: ['status'],
    registers,
  });
  const rateLimited = new Counter({
    name: 'gatehouse_upstream_rate_limited_total',
    help: "Upstream calls answered 429, by reason: budget (the workspace's share is spent), blocked (Notion's Retry-After holds), notion (Notion said 429)",
    labelNames: ['reason'],
    registers,
  });
  for (const reason of ['budget', 'blocked', 'notion']) rateLimited.inc({ reason }, 0);

  const issued = new Counter({
    name: 'gatehouse_oauth_tokens_issued_total',
    help: 'Token pairs issued for an authorization code',
    registers,
  });
  const refreshed = new Counter({
    name: 'gatehouse_oauth_tokens_refreshed_total',
    help: 'Token pairs issued for a refresh token (rotations)',
    registers,
  });
  const revoked = new Counter({
    name: 'gatehouse_oauth_tokens_revoked_total',
    help: 'Tokens revoked (grant: grants revoked, each with all its tokens), by reason',
    labelNames: ['reason'],
    registers,
  });
  for (const reason of ['revocation_endpoint', 'code_replay', 'refresh_reuse', 'grant']) revoked.inc({ reason }, 0);

  const indexObjects = new Counter({
    name: 'gatehouse_page_index_objects_total',
    help: "Objects read from Notion's search by page-index runs",
    registers,
  });
  const indexRuns = new Counter({
    name: 'gatehouse_page_index_runs_total',
    help: 'Page-index runs finished, by outcome (failed: the connection shows the error and is retried)',
    labelNames: ['outcome'],
    registers,
  });
  for (const outcome of ['ready', 'failed']) indexRuns.inc({ outcome }, 0);
  let readStates: (() => Promise<string[]>) | null = null;
  new Gauge({
    name: 'gatehouse_page_index_connections',
    help: 'Active upstream connections by page-index state (pending, running, ready, failed)',
    labelNames: ['state'],
    registers,
    async collect() {
      if (!readStates) return;
      this.reset();
      const states = await readStates().catch(() => [] as string[]);
      for (const state of ['pending', 'running', 'ready', 'failed']) this.set({ state }, 0);
      for (const state of states) this.inc({ state });
    },
  });

  return {
    upstream: {
      response(seconds, status) {
        upstreamSeconds.observe({ status }, seconds);
        upstreamResponses.inc({ status });
      },
      rateLimited: (reason) => rateLimited.inc({ reason }),
    },
    tokens: {
      issued: () => issued.inc(),
      refreshed: () => refreshed.inc(),
      revoked: (reason, count) => {
        if (count > 0) revoked.inc({ reason }, count);
      },
    },
    index: {
      objects: (count) => indexObjects.inc(count),
      run: (outcome) => indexRuns.inc({ outcome }),
      watchStates: (read) => (readStates = read),
    },
  };
}
