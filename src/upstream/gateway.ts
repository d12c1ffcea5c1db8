/**
 * The one door to Notion for partner calls (the proxy) and background work:
 * a call runs within the workspace's fair share of Notion's rate limit, with
 * the granting person's upstream credential, refreshed once across instances
 * when Notion says it expired.
 *
 * This first version forwards through `withUpstreamClient` with no budget;
 * the rate-limit budget and the cross-instance refresh lock replace its
 * inside without changing this interface.
 */
import type { Client } from '@notionhq/client';
import type { UpstreamConnectionStore } from '../store/upstream-connections.js';
import { ConnectionBroken, withUpstreamClient, type CredentialDeps } from './credentials.js';

export class UpstreamRateLimited extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super('Notion\'s rate limit for this workspace is spent; try again later.');
    this.name = 'UpstreamRateLimited';
  }
}

export interface UpstreamCallTarget {
  connectionId: string;
  workspaceId: string;
  /** Who spends the budget: a partner app id (or "gatehouse" for background work). */
  partnerKey: string;
}

export interface UpstreamGateway {
  /**
   * Throws UpstreamRateLimited when the wait for budget would exceed the
   * configured maximum, ConnectionBroken when the credential cannot be used
   * or refreshed; Notion's own errors pass through as @notionhq/client throws them.
   */
  call<T>(target: UpstreamCallTarget, fn: (client: Client) => Promise<T>): Promise<T>;
}

export function basicGateway(deps: CredentialDeps & { connections: UpstreamConnectionStore }): UpstreamGateway {
  return {
    async call(target, fn) {
      const connection = await deps.connections.findById(target.connectionId);
      if (!connection) throw new ConnectionBroken(target.connectionId);
      return withUpstreamClient(deps, connection, fn);
    },
  };
}
