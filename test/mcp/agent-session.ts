/**
 * Agent-side setup for the MCP tests: a grant on chosen pages (as "Allow
 * access" makes it), its code redeemed with `resource` naming /mcp (or not),
 * and the MCP SDK's own Client connected over Streamable HTTP with the token.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Clock } from '../../src/clock.js';
import type { Capability } from '../../src/oauth/capabilities.js';
import { grantAndIssueCode } from '../../src/oauth/grant-rules.js';
import type { AuthorizationTransaction } from '../../src/oauth/transaction.js';
import type { Gatehouse } from '../../src/runtime.js';
import { registerApp } from '../support/partner.js';

export interface AgentSession {
  grantId: string;
  accessToken: string;
  refreshToken: string;
  clientId: string;
  clientSecret: string;
}

export async function connectAgent(
  gatehouse: Gatehouse,
  url: string,
  args: { capabilities: Capability[]; pageIds: string[]; clock: Clock; resource: string | null; name?: string },
): Promise<AgentSession> {
  const { stores } = gatehouse;
  const registered = await registerApp(gatehouse, { name: args.name ?? 'Agent', capabilities: args.capabilities });
  const [person] = await stores.people.findByEmail('ada@example.com');
  const workspace = (await stores.workspaces.listForPerson(person!.id)).find((w) => w.name === 'Acme')!;
  const connection = (await stores.connections.findForPersonAndWorkspace(person!.id, workspace.id))!;
  await gatehouse.indexer.idle();
  const transaction: AuthorizationTransaction = {
    id: 'test',
    status: 'signed_in',
    appId: registered.app.id,
    clientId: registered.clientId,
    redirectUri: registered.app.redirectUris[0]!,
    redirectUriExplicit: true,
    state: 'st',
    codeChallenge: null,
    capabilities: args.capabilities,
    resource: args.resource,
    createdAt: Date.now(),
    picks: { workspaceId: workspace.id, pageIds: [] },
  };
  const { code, grant } = await grantAndIssueCode(
    { grants: stores.grants, tokens: stores.tokens, audit: stores.audit, clock: args.clock, codeLifetimeSeconds: 120 },
    {
      transaction,
      personId: person!.id,
      personLabel: person!.email,
      workspaceId: workspace.id,
      upstreamConnectionId: connection.id,
      pageIds: args.pageIds,
      address: null,
    },
  );
  const form: Record<string, string> = {
    grant_type: 'authorization_code',
    code,
    redirect_uri: registered.app.redirectUris[0]!,
    client_id: registered.clientId,
    client_secret: registered.clientSecret!,
  };
  if (args.resource) form.resource = args.resource;
  const response = await fetch(`${url}/v1/oauth/token`, { method: 'POST', body: new URLSearchParams(form) });
  const answer = (await response.json()) as { access_token: string; refresh_token: string };
  if (response.status !== 200) throw new Error(`token: ${response.status} ${JSON.stringify(answer)}`);
  return {
    grantId: grant.id,
    accessToken: answer.access_token,
    refreshToken: answer.refresh_token,
    clientId: registered.clientId,
    clientSecret: registered.clientSecret!,
  };
}

/** The SDK's Client on /mcp with a bearer token. */
export async function mcpClient(url: string, accessToken: string): Promise<Client> {
  const client = new Client({ name: 'gatehouse-test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(`${url}/mcp`), {
    requestInit: { headers: { Authorization: `Bearer ${accessToken}` } },
  });
  await client.connect(transport);
  return client;
}

/** A tool's text answer, parsed. */
export function toolJson(result: unknown): Record<string, unknown> {
  const content = (result as { content: Array<{ type: string; text: string }> }).content;
  return JSON.parse(content[0]!.text) as Record<string, unknown>;
}
