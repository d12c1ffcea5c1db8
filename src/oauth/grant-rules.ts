/**
 * Rules shared by the consent screen and the token endpoint: who may install
 * what (the install policy), and turning an allowed consent into a grant and
 * a code.
 */
import type { Clock } from '../clock.js';
import { generateToken, hashToken } from '../crypto/tokens.js';
import type { AuditStore } from '../store/audit.js';
import type { Grant, GrantStore } from '../store/grants.js';
import type { PartnerApp } from '../store/partner-apps.js';
import type { TokenStore } from '../store/tokens.js';
import type { Workspace, WorkspaceStore } from '../store/workspaces.js';
import type { AuthorizationTransaction } from './transaction.js';

export type PolicyDecision = { allowed: true } | { allowed: false; reason: string };

/**
 * "Only from approved list" stops members (not owners: owners are exempt, as
 * in Notion) from installing an app that is neither approved nor, with
 * auto-approval on, built by the organisation.
 */
export async function checkInstallPolicy(
  deps: { workspaces: WorkspaceStore; grants: GrantStore },
  args: { workspaceId: string; personId: string; app: PartnerApp },
): Promise<PolicyDecision> {
  const workspace = await deps.workspaces.findById(args.workspaceId);
  const membership = await deps.workspaces.membership(args.workspaceId, args.personId);
  const decided = installPolicyDecision({ workspace, membership, app: args.app, approved: null });
  if (decided !== 'ask approval') return decided;
  const approved = await deps.grants.isApproved(args.workspaceId, args.app.id);
  return installPolicyDecision({ workspace, membership, app: args.app, approved }) as PolicyDecision;
}

/**
 * The policy on facts in hand (the token endpoint reads them with the code in
 * one round trip); `approved: null` when not read yet: answers 'ask approval'
 * when only the approved list can decide.
 */
export function installPolicyDecision(facts: {
  workspace: Pick<Workspace, 'name' | 'installPolicy' | 'autoApproveOrganisation'> | null;
  membership: { role: 'owner' | 'member'; status: 'active' | 'left' } | null;
  app: Pick<PartnerApp, 'name' | 'builtByOrganisation'>;
  approved: boolean | null;
}): PolicyDecision | 'ask approval' {
  const { workspace, membership, app } = facts;
  if (!workspace || !membership || membership.status !== 'active')
    return { allowed: false, reason: 'You are not a member of this workspace.' };
  if (membership.role === 'owner' || workspace.installPolicy === 'no_restrictions') return { allowed: true };
  if (app.builtByOrganisation && workspace.autoApproveOrganisation) return { allowed: true };
  if (facts.approved === null) return 'ask approval';
  if (facts.approved) return { allowed: true };
  return {
    allowed: false,
    reason: `The owners of ${workspace.name} only allow connections from their approved list, and ${app.name} is not on it. Ask a workspace owner to approve it.`,
  };
}

export interface IssueCodeDeps {
  grants: GrantStore;
  tokens: TokenStore;
  audit: AuditStore;
  clock: Clock;
  codeLifetimeSeconds: number;
}

/** Creates or updates the grant (one per person, app and workspace) and issues a single-use code bound to client, redirect URI and PKCE challenge. */
export async function grantAndIssueCode(
  deps: IssueCodeDeps,
  args: {
    transaction: AuthorizationTransaction;
    personId: string;
    personLabel: string;
    workspaceId: string;
    upstreamConnectionId: string;
    pageIds: string[];
    address: string | null;
  },
): Promise<{ code: string; grant: Grant }> {
  const now = deps.clock.now();
  const { transaction } = args;
  const { grant, created } = await deps.grants.upsert(
    {
      personId: args.personId,
      appId: transaction.appId,
      workspaceId: args.workspaceId,
      upstreamConnectionId: args.upstreamConnectionId,
      capabilities: transaction.capabilities,
      pageIds: args.pageIds,
    },
    now,
  );
  const code = generateToken('gh_code');
  await deps.tokens.saveCode(
    {
      codeHash: hashToken(code),
      grantId: grant.id,
      appId: transaction.appId,
      personId: args.personId,
      redirectUri: transaction.redirectUri,
      redirectUriExplicit: transaction.redirectUriExplicit,
      codeChallenge: transaction.codeChallenge,
      capabilities: transaction.capabilities,
      resource: transaction.resource ?? null,
      expiresAt: new Date(now.getTime() + deps.codeLifetimeSeconds * 1000),
    },
    now,
  );
  const actor = { type: 'person' as const, id: args.personId, label: args.personLabel };
  await deps.audit.record(
    {
      action: created ? 'grant.created' : 'grant.changed',
      actor,
      target: { type: 'grant', id: grant.id },
      workspaceId: args.workspaceId,
      address: args.address,
      outcome: 'success',
      detail: { appId: transaction.appId, capabilities: transaction.capabilities, pages: args.pageIds.length },
    },
    now,
  );
  await deps.audit.record(
    {
      action: 'code.issued',
      actor,
      target: { type: 'grant', id: grant.id },
      workspaceId: args.workspaceId,
      address: args.address,
      outcome: 'success',
      detail: { appId: transaction.appId },
    },
    now,
  );
  return { code, grant };
}
