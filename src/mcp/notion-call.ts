/**
 * A tool's Notion call, through the proxy's own path: the allow-list
 * (src/proxy/endpoints.ts) matches it, the proxy's capability rule checks it
 * and the proxy's rule (src/proxy/calls.ts) scopes, forwards and shapes it.
 * Tools never reach Notion any other way, so MCP and the proxy share one rule
 * set and one fair share of Notion's rate limit.
 */
import type { TokenScope } from '../proxy/authenticate.js';
import { runCall, type CallDeps } from '../proxy/calls.js';
import { allowedQuery, matchEndpoint, type Method } from '../proxy/endpoints.js';
import { requireCapability } from '../proxy/routes.js';

/** Gatehouse's own Notion-Version for tools (data sources exist from it on). */
export const TOOL_NOTION_VERSION = '2025-09-03';

export type NotionCall = (
  method: Method,
  path: string,
  options?: { query?: Record<string, string>; body?: Record<string, unknown> },
) => Promise<Record<string, unknown>>;

export function notionCaller(deps: CallDeps, scope: TokenScope): NotionCall {
  return async (method, path, options = {}) => {
    const matched = matchEndpoint(method, `/v1/${path}`);
    requireCapability(matched.endpoint, scope.capabilities);
    const answer = await runCall(deps, {
      scope,
      matched,
      notionVersion: TOOL_NOTION_VERSION,
      query: allowedQuery(matched.endpoint, options.query ?? {}),
      body: options.body ?? {},
    });
    return answer as Record<string, unknown>;
  };
}
