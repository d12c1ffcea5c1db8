/**
 * The MCP endpoint `/mcp` (Streamable HTTP) and its protected resource
 * metadata (RFC 9728). HTTP only, in the order of the MCP authorization
 * rules: Origin (403 when present and foreign), token (401 with where to
 * authorise), then the JSON-RPC messages: a tools/call needing a capability
 * the grant lacks gets 403 insufficient_scope with the wider scope (step-up);
 * everything else is the SDK's server, stateless (no session id: any
 * instance answers any request), built per request for this token.
 *
 * The token is checked on every request by the proxy's own check
 * (src/proxy/authenticate.ts), with nothing cached in the process, so a
 * revoked grant ends the next request on every instance. Only tokens bound
 * (RFC 8707) to this endpoint pass; the proxy refuses them in turn.
 */
import express, { Router, type ErrorRequestHandler, type Request, type Response } from 'express';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ListToolsRequestSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { normaliseCapabilities, toScope, type Capability } from '../oauth/capabilities.js';
import { mcpResourceUrl } from '../oauth/resource.js';
import { authenticateFor, bearerToken, type TokenScope } from '../proxy/authenticate.js';
import { NotionError } from '../proxy/errors.js';
import { proxyCallDeps, type ProxyDeps } from '../proxy/routes.js';
import type { AuditStore } from '../store/audit.js';
import { bearerChallenge, protectedResourceMetadata } from './metadata.js';
import { notionCaller } from './notion-call.js';
import { allows, findTool, NOT_REACHABLE, ToolError, TOOLS, type Tool } from './tools.js';

export interface McpDeps extends Omit<ProxyDeps, 'registry' | 'logger' | 'audit'> {
  issuer: string;
  /** The scope a client without a token is told to ask for (tunable agentDefaultScope). */
  defaultScope: string;
  audit: AuditStore;
  registry: Registry;
  logger: Logger;
}

const BODY_LIMIT = '1mb';

function counter(registry: Registry, name: string, help: string, labelNames: string[]): Counter<string> {
  return (registry.getSingleMetric(name) as Counter<string> | undefined) ?? new Counter({ name, help, labelNames, registers: [registry] });
}

function jsonRpcError(res: Response, status: number, code: number, message: string): void {
  res.status(status).json({ jsonrpc: '2.0', error: { code, message }, id: null });
}

/** The scope that would let this grant use the tool: what it holds, plus what the tool needs. */
export function widerScope(capabilities: readonly Capability[], tool: Tool): string {
  const extra: Capability = tool.capability === 'user_info' ? 'user_info_without_email' : tool.capability;
  const held = tool.capability === 'user_info' ? capabilities.filter((c) => c !== 'no_user_info') : capabilities;
  return toScope(normaliseCapabilities([...held, extra]));
}

export function mcpRoutes(deps: McpDeps): Router {
  const router = Router();
  const resource = mcpResourceUrl(deps.issuer);
  const ownOrigin = new URL(deps.issuer).origin;
  const calls = counter(deps.registry, 'gatehouse_mcp_tool_calls_total', 'MCP tool calls', ['tool', 'outcome']);
  // Like the proxy's forwarded-call counter: per app and workspace, so an agent's share of Notion's budget is visible.
  const forwarded = counter(deps.registry, 'gatehouse_mcp_tool_calls_forwarded_total', 'MCP tool calls that reached Notion', [
    'app',
    'workspace',
  ]);
  const callDeps = proxyCallDeps(deps);

  const metadata = (_req: Request, res: Response) => {
    res.setHeader('Cache-Control', 'public, max-age=300');
    res.json(protectedResourceMetadata(deps.issuer));
  };
  router.get(['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-protected-resource'], metadata);

  router.all('/mcp', (req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    // MCP transports: a present Origin that is not Gatehouse's own is refused (DNS rebinding, cross-site pages).
    const origin = req.get('Origin');
    if (origin !== undefined && origin !== ownOrigin) return jsonRpcError(res, 403, -32000, 'Forbidden: this Origin may not call /mcp.');
    // Stateless: no server-sent event stream to open (GET) and no session to end (DELETE).
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST');
      return jsonRpcError(res, 405, -32000, 'Method not allowed: use POST.');
    }
    next();
  });
  router.post('/mcp', async (req, res, next) => {
    try {
      const auth = await authenticateFor(deps, bearerToken(req.get('Authorization')), deps.clock.now(), resource);
      if (!auth.ok) {
        const error =
          auth.reason === 'missing_token'
            ? undefined
            : {
                code: 'invalid_token' as const,
                description: 'The access token is invalid, expired, revoked or not issued for this resource.',
              };
        res.setHeader('WWW-Authenticate', bearerChallenge(deps.issuer, deps.defaultScope, error));
        return jsonRpcError(res, 401, -32001, 'Unauthorized: an access token for this resource is required.');
      }
      res.locals.scope = auth.scope;
      next();
    } catch (err) {
      next(err);
    }
  });
  router.post('/mcp', express.json({ limit: BODY_LIMIT, strict: false }), async (req, res, next) => {
    const scope = res.locals.scope as TokenScope;
    try {
      // Step-up: a call the grant's capabilities do not allow is an HTTP 403, so the client asks the person again.
      const messages: unknown[] = Array.isArray(req.body) ? req.body : [req.body];
      // JSON-RPC 2.0 §6: an empty batch, or anything but objects, is an invalid request.
      if (messages.length === 0 || messages.some((m) => typeof m !== 'object' || m === null || Array.isArray(m)))
        return jsonRpcError(res, 400, -32600, 'Invalid Request: expected a JSON-RPC message.');
      for (const message of messages) {
        const call = z
          .object({ method: z.literal('tools/call'), params: z.object({ name: z.string(), arguments: z.unknown() }) })
          .safeParse(message);
        const tool = call.success ? findTool(call.data.params.name) : undefined;
        if (tool && !allows(scope.capabilities, tool)) {
          calls.inc({ tool: tool.name, outcome: 'insufficient_scope' });
          const given = call.data?.params.arguments;
          const args = typeof given === 'object' && given !== null ? (given as Record<string, unknown>) : {};
          await auditCall(deps, scope, 'mcp.tool_refused', tool, args, 'insufficient_scope', 403);
          res.setHeader(
            'WWW-Authenticate',
            bearerChallenge(deps.issuer, widerScope(scope.capabilities, tool), {
              code: 'insufficient_scope',
              description: `${tool.name} needs ${tool.capability === 'user_info' ? 'a user-information level' : tool.capability}.`,
            }),
          );
          return jsonRpcError(res, 403, -32003, 'Forbidden: this connection was not granted what the tool needs.');
        }
      }
      const server = toolServer(deps, scope, callDeps, { calls, forwarded });
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      res.on('close', () => {
        void transport.close();
        void server.close();
      });
      await server.connect(transport);
      await transport.handleRequest(req, res, req.body);
    } catch (err) {
      next(err);
    }
  });

  // Unreadable bodies answer in JSON-RPC's shape, never as a 500.
  const bodyErrors: ErrorRequestHandler = (err, req, res, next) => {
    if (req.path !== '/mcp') return next(err);
    const status = typeof err?.status === 'number' ? err.status : 500;
    if (status === 413) return jsonRpcError(res, 413, -32600, 'Request body too large.');
    if (status >= 400 && status < 500) return jsonRpcError(res, 400, -32700, 'Parse error: the body is not JSON.');
    deps.logger.error({ err: err instanceof Error ? err.message : String(err) }, 'mcp request failed');
    if (!res.headersSent) jsonRpcError(res, 500, -32603, 'Internal error.');
  };
  router.use(bodyErrors);
  return router;
}

interface ToolCounters {
  calls: Counter<string>;
  forwarded: Counter<string>;
}

function toolServer(deps: McpDeps, scope: TokenScope, callDeps: ReturnType<typeof proxyCallDeps>, counters: ToolCounters): Server {
  const { calls, forwarded } = counters;
  const server = new Server({ name: 'gatehouse-notion', version: '1.0.0' }, { capabilities: { tools: { listChanged: false } } });
  const listed = TOOLS.filter((tool) => allows(scope.capabilities, tool));
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: listed.map((tool) => ({
      name: tool.name,
      description: tool.description,
      inputSchema: z.toJSONSchema(tool.input) as { type: 'object'; [key: string]: unknown },
      annotations: tool.annotations,
    })),
  }));
  const notion = notionCaller(callDeps(scope), scope);
  server.setRequestHandler(CallToolRequestSchema, async (request): Promise<CallToolResult> => {
    const tool = listed.find((t) => t.name === request.params.name);
    if (!tool) return toolError(`Unknown tool: ${request.params.name.slice(0, 80)}.`);
    const args = tool.input.safeParse(request.params.arguments ?? {});
    if (!args.success)
      return toolError(`Invalid arguments: ${args.error.issues.map((i) => `${i.path.join('.') || '(root)'} ${i.message}`).join('; ')}`);
    try {
      const result = await tool.run(notion, args.data as never);
      calls.inc({ tool: tool.name, outcome: 'ok' });
      forwarded.inc({ app: scope.appId, workspace: scope.workspaceId });
      await auditCall(deps, scope, 'mcp.tool_called', tool, args.data, null);
      return { content: [{ type: 'text', text: JSON.stringify(result, null, 2) }] };
    } catch (err) {
      calls.inc({ tool: tool.name, outcome: 'error' });
      await auditFailure(deps, scope, tool, args.data, err);
      return toolError(describeFailure(deps.logger, err));
    }
  });
  return server;
}

function toolError(text: string): CallToolResult {
  return { isError: true, content: [{ type: 'text', text }] };
}

/** Out of scope and missing read the same (nothing about the page leaks); Notion's refusals keep their words. */
function describeFailure(logger: Logger, err: unknown): string {
  if (err instanceof ToolError) return err.message;
  if (err instanceof NotionError) {
    if (err.status === 404 || err.reason === 'out_of_scope') return NOT_REACHABLE;
    if (err.status === 403) return 'This connection may not do that.';
    if (err.status === 429 || err.status >= 500) return `Notion is unavailable or busy (${err.status}); try again shortly.`;
    return err.message;
  }
  logger.error({ err: err instanceof Error ? err.message : String(err) }, 'mcp tool failed');
  return 'The tool failed unexpectedly.';
}

/** The object a call was about, as the agent named it (the refusal's detail, like the proxy's endpoint). */
function targetOf(args: Record<string, unknown>): string | null {
  for (const key of ['id', 'page_id', 'data_source_id'] as const)
    if (typeof args[key] === 'string') return (args[key] as string).slice(0, 300);
  return null;
}

/**
 * One audit line per tool call, as the proxy keeps for its calls: which tool,
 * which object, and the outcome (a refusal's reason). Outages are not
 * audited: the audit table is likely what is unreachable.
 */
async function auditFailure(deps: McpDeps, scope: TokenScope, tool: Tool, args: Record<string, unknown>, err: unknown): Promise<void> {
  if (err instanceof NotionError && (err.reason === 'rate_limited' || err.reason === 'unavailable')) return;
  if (err instanceof NotionError && err.reason) return auditCall(deps, scope, 'mcp.tool_refused', tool, args, err.reason, err.status);
  // notion-fetch tries each kind of object and says only that none is reachable: out of scope or missing.
  if (err instanceof ToolError && err.message === NOT_REACHABLE)
    return auditCall(deps, scope, 'mcp.tool_refused', tool, args, 'not_reachable');
  const reason = err instanceof ToolError ? 'invalid_arguments' : err instanceof NotionError ? 'upstream_refused' : 'failed';
  return auditCall(deps, scope, 'mcp.tool_called', tool, args, reason, err instanceof NotionError ? err.status : undefined);
}

async function auditCall(
  deps: McpDeps,
  scope: TokenScope,
  action: 'mcp.tool_called' | 'mcp.tool_refused',
  tool: Tool,
  args: Record<string, unknown>,
  reason: string | null,
  status?: number,
): Promise<void> {
  await deps.audit
    .record(
      {
        action,
        actor: { type: 'partner', id: scope.appId },
        target: { type: 'grant', id: scope.grantId },
        workspaceId: scope.workspaceId,
        address: null,
        outcome: reason === null ? 'success' : 'failure',
        detail: { tool: tool.name, target: targetOf(args), ...(reason === null ? {} : { reason }), ...(status ? { status } : {}) },
      },
      deps.clock.now(),
    )
    .catch((auditErr: unknown) => deps.logger.warn({ err: String(auditErr) }, 'mcp tool call not audited'));
}
