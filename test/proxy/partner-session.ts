/**
 * Partner-side setup for the proxy tests: a registered app, a grant on
 * chosen pages (as "Allow access" makes it), the code redeemed with
 * @notionhq/client's oauth.token, and a @notionhq/client pointed at Gatehouse.
 */
import http from 'node:http';
import { Client } from '@notionhq/client';
import type { Clock } from '../../src/clock.js';
import type { Capability } from '../../src/oauth/capabilities.js';
import { grantAndIssueCode } from '../../src/oauth/grant-rules.js';
import type { AuthorizationTransaction } from '../../src/oauth/transaction.js';
import type { Gatehouse } from '../../src/runtime.js';
import { registerApp, type RegisteredApp } from '../support/partner.js';

export interface PartnerSession {
  registered: RegisteredApp;
  grantId: string;
  accessToken: string;
  refreshToken: string;
  connectionId: string;
  notion: Client;
  /** The same partner on Notion-Version 2022-06-28. */
  legacy: Client;
}

export async function connectPartner(
  gatehouse: Gatehouse,
  url: string,
  args: { capabilities: Capability[]; pageIds: string[]; email?: string; workspaceName?: string; clock: Clock; name?: string },
): Promise<PartnerSession> {
  const { stores } = gatehouse;
  const registered = await registerApp(gatehouse, { name: args.name ?? 'Proxy test partner', capabilities: args.capabilities });
  const email = args.email ?? 'ada@example.com';
  const [person] = await stores.people.findByEmail(email);
  if (!person) throw new Error(`no person ${email}`);
  const workspace = (await stores.workspaces.listForPerson(person.id)).find((w) => w.name === (args.workspaceName ?? 'Acme'));
  if (!workspace) throw new Error('no workspace');
  const connection = await stores.connections.findForPersonAndWorkspace(person.id, workspace.id);
  if (!connection) throw new Error('no upstream connection');
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
    createdAt: Date.now(),
    picks: { workspaceId: workspace.id, pageIds: [] },
  };
  const { code, grant } = await grantAndIssueCode(
    { grants: stores.grants, tokens: stores.tokens, audit: stores.audit, clock: args.clock, codeLifetimeSeconds: 120 },
    {
      transaction,
      personId: person.id,
      personLabel: person.email,
      workspaceId: workspace.id,
      upstreamConnectionId: connection.id,
      pageIds: args.pageIds,
      address: null,
    },
  );
  const answer = await new Client({ baseUrl: url, retry: false }).oauth.token({
    grant_type: 'authorization_code',
    code,
    redirect_uri: registered.app.redirectUris[0]!,
    client_id: registered.clientId,
    client_secret: registered.clientSecret!,
  });
  return {
    registered,
    grantId: grant.id,
    accessToken: answer.access_token,
    refreshToken: answer.refresh_token!,
    connectionId: connection.id,
    notion: partnerClient(url, answer.access_token),
    legacy: partnerClient(url, answer.access_token, '2022-06-28'),
  };
}

/** @notionhq/client as a partner uses it (retries off), quiet about the refusals tests provoke. */
export function partnerClient(url: string, auth?: string, notionVersion?: string): Client {
  return new Client({ auth, baseUrl: url, retry: false, notionVersion, logger: () => undefined });
}

/** A request with its path sent exactly as written (fetch would resolve `..` before sending). */
export function rawRequest(
  url: string,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const request = http.request(url + '/', { path, method: 'GET', headers }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => {
        try {
          resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> });
        } catch {
          resolve({ status: response.statusCode ?? 0, body: {} });
        }
      });
    });
    request.on('error', reject);
    request.end();
  });
}

/** What a call threw, as @notionhq/client raises it. */
export async function failure(
  call: Promise<unknown>,
): Promise<{ status: number; code: string; message: string; body: Record<string, unknown>; headers: Headers | Record<string, string> }> {
  try {
    await call;
  } catch (err) {
    const e = err as { status: number; code: string; message: string; body: string; headers: Headers | Record<string, string> };
    return { status: e.status, code: e.code, message: e.message, body: JSON.parse(e.body) as Record<string, unknown>, headers: e.headers };
  }
  throw new Error('expected the call to fail');
}
