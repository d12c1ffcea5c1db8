/**
 * The one door to Notion for partner calls (the proxy) and background work:
 * a call runs within the workspace's fair share of Notion's rate limit
 * (rate-budget.ts), with the granting person's upstream credential, refreshed
 * once across instances when Notion says it expired (credentials.ts,
 * refresh-lock.ts).
 *
 * Every upstream request, the retry after a refresh included, takes one
 * reservation from the workspace's budget first; a reservation in the near
 * future is waited for here (within the configured maximum), a later one is
 * refused with UpstreamRateLimited. Notion's own 429 blocks the workspace for
 * everybody until its Retry-After and reaches the caller as
 * UpstreamRateLimited too, so the proxy answers one shape of 429.
 */
import { APIErrorCode, isNotionClientError, type Client } from '@notionhq/client';
import type { UpstreamConnection, UpstreamConnectionStore } from '../store/upstream-connections.js';
import { ConnectionBroken, upstreamClients, withUpstreamClient, type CredentialDeps } from './credentials.js';
import type { RateBudget } from './rate-budget.js';
import { upstreamStatusOf, type UpstreamMetrics } from '../http/operator-metrics.js';

export class UpstreamRateLimited extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super("Notion's rate limit for this workspace is spent; try again later.");
    this.name = 'UpstreamRateLimited';
  }
}

export interface UpstreamCallTarget {
  connectionId: string;
  workspaceId: string;
  /** Who spends the budget: a partner app id (or "gatehouse" for background work). */
  partnerKey: string;
  /** Notion-Version for this call (the proxy forwards the partner's); unset = the configured one. */
  notionVersion?: string;
  /** The connection as the caller just read it (the proxy reads it with the token); unset = read here. */
  connection?: UpstreamConnection;
}

export interface UpstreamGateway {
  /**
   * Throws UpstreamRateLimited when the wait for budget would exceed the
   * configured maximum or Notion answered 429 (its Retry-After, now holding
   * for the whole workspace), ConnectionBroken when the credential cannot be
   * used or refreshed; Notion's other errors pass through as @notionhq/client
   * throws them.
   */
  call<T>(target: UpstreamCallTarget, fn: (client: Client) => Promise<T>): Promise<T>;
}

export interface GatewayDeps extends CredentialDeps {
  connections: UpstreamConnectionStore;
  budget: RateBudget;
  /** Waits for a reservation's start (tests pass one that moves their clock). */
  sleep?: (ms: number) => Promise<void>;
  metrics?: UpstreamMetrics;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Notion's Retry-After ("an integer number of seconds"), 1 when absent or unreadable. */
export function notionRetryAfterSeconds(err: unknown): number {
  // The SDK's headers are a fetch Headers object or a plain record, depending on the fetch it was given.
  const headers = (err as { headers?: unknown })?.headers as
    ({ get?: (name: string) => string | null } & Record<string, unknown>) | undefined;
  const header =
    typeof headers?.get === 'function'
      ? headers.get('retry-after')
      : (Object.entries(headers ?? {}).find(([name]) => name.toLowerCase() === 'retry-after')?.[1] as string | undefined);
  const seconds = Number(header);
  return header && Number.isFinite(seconds) && seconds > 0 ? Math.ceil(seconds) : 1;
}

export function createUpstreamGateway(deps: GatewayDeps): UpstreamGateway {
  const sleep = deps.sleep ?? defaultSleep;
  const clients = deps.clients ?? upstreamClients();

  /** One upstream request within the workspace's budget. */
  async function spend<T>(workspaceId: string, partnerKey: string, request: () => Promise<T>): Promise<T> {
    const metrics = deps.metrics;
    const verdict = await deps.budget.take(workspaceId, partnerKey);
    if (!verdict.allowed) {
      metrics?.rateLimited('budget');
      throw new UpstreamRateLimited(verdict.retryAfterSeconds);
    }
    if (verdict.waitMs > 0) {
      await sleep(verdict.waitMs);
      // Notion may have answered 429 to someone while we waited: its Retry-After holds for us too.
      const blockedMs = await deps.budget.blockedForMs(workspaceId);
      if (blockedMs > 0) {
        metrics?.rateLimited('blocked');
        throw new UpstreamRateLimited(Math.max(1, Math.ceil(blockedMs / 1000)));
      }
    }
    const started = performance.now();
    try {
      const answer = await request();
      metrics?.response((performance.now() - started) / 1000, '2xx');
      return answer;
    } catch (err) {
      metrics?.response((performance.now() - started) / 1000, upstreamStatusOf(err));
      if (isNotionClientError(err) && err.code === APIErrorCode.RateLimited) {
        metrics?.rateLimited('notion');
        const seconds = notionRetryAfterSeconds(err);
        await deps.budget.block(workspaceId, seconds);
        throw new UpstreamRateLimited(seconds);
      }
      throw err;
    }
  }

  return {
    async call(target, fn) {
      const connection =
        target.connection?.id === target.connectionId ? target.connection : await deps.connections.findById(target.connectionId);
      if (!connection) throw new ConnectionBroken(target.connectionId);
      const upstream = target.notionVersion ? { ...deps.upstream, notionVersion: target.notionVersion } : deps.upstream;
      // The budget is the workspace's as Gatehouse knows it from the connection (Notion counts per integration and workspace).
      return withUpstreamClient({ ...deps, upstream, clients }, connection, (client) =>
        spend(connection.workspaceId, target.partnerKey, () => fn(client)),
      );
    },
  };
}
