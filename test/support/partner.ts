/**
 * Partner-side helpers: register a partner app straight in the store, and
 * (for token-endpoint tests that are not about the consent screen) issue a
 * code exactly as "Allow access" does, through grantAndIssueCode.
 */
import { generateToken, hashToken, randomString } from '../../src/crypto/tokens.js';
import type { Capability } from '../../src/oauth/capabilities.js';
import { grantAndIssueCode } from '../../src/oauth/grant-rules.js';
import type { AuthorizationTransaction } from '../../src/oauth/transaction.js';
import type { Gatehouse } from '../../src/runtime.js';
import type { PartnerApp } from '../../src/store/partner-apps.js';

export interface RegisteredApp {
  app: PartnerApp;
  clientId: string;
  clientSecret: string | null;
}

export async function registerApp(
  gatehouse: Gatehouse,
  options: {
    name?: string;
    redirectUris?: string[];
    capabilities?: Capability[];
    clientType?: 'confidential' | 'public';
    builtByOrganisation?: boolean;
  } = {},
): Promise<RegisteredApp> {
  const clientType = options.clientType ?? 'confidential';
  const clientId = randomString(18);
  const clientSecret = clientType === 'confidential' ? generateToken('gh_cs') : null;
  const app = await gatehouse.stores.partnerApps.create(
    {
      clientId,
      clientSecretHash: clientSecret ? hashToken(clientSecret) : null,
      name: options.name ?? 'Test partner',
      website: 'https://partner.example',
      supportContact: 'support@partner.example',
      logo: null,
      redirectUris: options.redirectUris ?? ['https://partner.example/callback'],
      capabilities: options.capabilities ?? ['read_content', 'insert_content', 'user_info_without_email'],
      builtByOrganisation: options.builtByOrganisation ?? false,
      clientType,
      createdBy: null,
    },
    new Date(),
  );
  return { app, clientId, clientSecret };
}

/** A code as "Allow access" would issue it, for a seeded person and workspace (demo data). */
export async function issueCode(
  gatehouse: Gatehouse,
  args: {
    registered: RegisteredApp;
    email: string;
    workspaceName: string;
    pageCount?: number;
    codeChallenge?: string | null;
    redirectUri?: string;
    redirectUriExplicit?: boolean;
    capabilities?: Capability[];
    clock?: { now(): Date };
  },
): Promise<{ code: string; grantId: string }> {
  const { stores } = gatehouse;
  const [person] = await stores.people.findByEmail(args.email);
  if (!person) throw new Error(`no person ${args.email}`);
  const workspace = (await stores.workspaces.listForPerson(person.id)).find((w) => w.name === args.workspaceName);
  if (!workspace) throw new Error(`${args.email} is not in ${args.workspaceName}`);
  const connection = await stores.connections.findForPersonAndWorkspace(person.id, workspace.id);
  if (!connection) throw new Error('no upstream connection');
  await gatehouse.indexer.idle();
  const pages = await stores.pageIndex.roots(connection.id, args.pageCount ?? 2, 0);
  const transaction: AuthorizationTransaction = {
    id: 'test',
    status: 'signed_in',
    appId: args.registered.app.id,
    clientId: args.registered.clientId,
    redirectUri: args.redirectUri ?? args.registered.app.redirectUris[0]!,
    redirectUriExplicit: args.redirectUriExplicit ?? true,
    state: 'st',
    codeChallenge: args.codeChallenge ?? null,
    capabilities: args.capabilities ?? args.registered.app.capabilities,
    createdAt: Date.now(),
    picks: { workspaceId: workspace.id, pageIds: [] },
  };
  const { code, grant } = await grantAndIssueCode(
    {
      grants: stores.grants,
      tokens: stores.tokens,
      audit: stores.audit,
      clock: args.clock ?? { now: () => new Date() },
      codeLifetimeSeconds: 120,
    },
    {
      transaction,
      personId: person.id,
      personLabel: person.email,
      workspaceId: workspace.id,
      upstreamConnectionId: connection.id,
      pageIds: pages.map((p) => p.pageId),
      address: null,
    },
  );
  return { code, grantId: grant.id };
}

export function basic(clientId: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

/**
 * Redeems a code as a partner's server does: client_secret_basic and a JSON
 * body, at the registered redirect URI. The raw answer, for the test to judge.
 */
export function redeem(baseUrl: string, registered: RegisteredApp, code: string): Promise<Response> {
  return fetch(`${baseUrl}/v1/oauth/token`, {
    method: 'POST',
    headers: { authorization: basic(registered.clientId, registered.clientSecret!), 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'authorization_code', code, redirect_uri: registered.app.redirectUris[0] }),
  });
}
