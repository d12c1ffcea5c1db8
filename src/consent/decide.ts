/**
 * "Allow access" on the consent screen: the server-side checks, in order,
 * each a small named step, then the
 * grant and the code.
 *
 *   open transaction ─▶ active member ─▶ install policy ─▶ agent policy ─▶ own upstream connection
 *     ─▶ pages picked ─▶ pages in that connection's index ─▶ capabilities asked for
 *     ─▶ grantAndIssueCode
 *
 * Every refusal is a ConsentRefused with its status, decided before anything
 * is written: a refused consent leaves no grant and no code behind. The CSRF
 * token is checked before any of this, by the global middleware.
 */
import type { Clock } from '../clock.js';
import { AdminError } from '../http/refusal.js';
import { isCapability, isSubset, normaliseCapabilities, type Capability } from '../oauth/capabilities.js';
import { checkInstallPolicy, grantAndIssueCode, type IssueCodeDeps, type PolicyDecision } from '../oauth/grant-rules.js';
import type { AuthorizationTransaction, TransactionLookup } from '../oauth/transaction.js';
import type { AgentPolicyStore } from '../store/agent-policy.js';
import type { AuditStore } from '../store/audit.js';
import type { Grant, GrantStore } from '../store/grants.js';
import type { PageIndexStore } from '../store/page-index.js';
import type { PartnerApp, PartnerAppStore } from '../store/partner-apps.js';
import type { TokenStore } from '../store/tokens.js';
import type { UpstreamConnection, UpstreamConnectionStore } from '../store/upstream-connections.js';
import type { WorkspaceStore } from '../store/workspaces.js';

/** A closed list of reasons, each with the status the page answers with. */
export type RefusalKind =
  | 'transaction_unknown'
  | 'transaction_expired'
  | 'app_gone'
  | 'not_member'
  | 'policy'
  | 'agent_policy'
  | 'no_connection'
  | 'no_pages'
  | 'too_many_pages'
  | 'page_outside_index'
  | 'capability_not_asked';

const STATUS: Record<RefusalKind, number> = {
  transaction_unknown: 400,
  transaction_expired: 400,
  app_gone: 400,
  not_member: 403,
  policy: 403,
  agent_policy: 403,
  no_connection: 409,
  no_pages: 400,
  too_many_pages: 400,
  page_outside_index: 403,
  capability_not_asked: 400,
};

export class ConsentRefused extends AdminError<RefusalKind> {
  constructor(kind: RefusalKind, message: string, detail?: string) {
    super(kind, message, STATUS[kind], detail);
    this.name = 'ConsentRefused';
  }

  get kind(): RefusalKind {
    return this.code;
  }

  override logDetail(): string {
    return this.detail ?? this.kind;
  }
}

/** At most this many pages in one grant: a parent shares its descendants, so a few parents cover a workspace. */
export const MAX_PICKED_PAGES = 500;

export const MESSAGES = {
  unknown:
    'This authorisation request is not open in this browser: it was finished, cancelled, or started elsewhere. Go back to the app and press its connect button again.',
  expired: 'This authorisation request expired (requests stay open for 10 minutes). Go back to the app and press its connect button again.',
} as const;

export interface ConsentDeps {
  workspaces: WorkspaceStore;
  grants: GrantStore;
  connections: UpstreamConnectionStore;
  pageIndex: PageIndexStore;
  partnerApps: PartnerAppStore;
  agentPolicies: AgentPolicyStore;
  tokens: TokenStore;
  audit: AuditStore;
  clock: Clock;
  codeLifetimeSeconds: number;
}

// ── the steps ──────────────────────────────────────────────────────────────

/** B2: bound to this session (another person's id is simply unknown here) and at most 10 minutes old. */
export function requireOpenTransaction(lookup: TransactionLookup): AuthorizationTransaction {
  if (lookup.ok) return lookup.transaction;
  if (lookup.reason === 'expired') throw new ConsentRefused('transaction_expired', MESSAGES.expired);
  throw new ConsentRefused('transaction_unknown', MESSAGES.unknown, `transaction ${lookup.reason}`);
}

export async function requireApp(deps: Pick<ConsentDeps, 'partnerApps'>, transaction: AuthorizationTransaction): Promise<PartnerApp> {
  const app = await deps.partnerApps.findById(transaction.appId);
  if (!app) throw new ConsentRefused('app_gone', 'This app is no longer registered with Gatehouse.');
  return app;
}

/** B4: a workspace id the person is not an active member of is refused, whatever the form said. */
export async function requireActiveMember(deps: Pick<ConsentDeps, 'workspaces'>, personId: string, workspaceId: string): Promise<void> {
  const membership = await deps.workspaces.membership(workspaceId, personId);
  if (!membership || membership.status !== 'active') {
    throw new ConsentRefused('not_member', 'You are not a member of that workspace.', `workspace ${workspaceId}`);
  }
}

/** "Only from approved list": members (not owners) may not install an app that is not approved. */
export async function requireInstallAllowed(
  deps: Pick<ConsentDeps, 'workspaces' | 'grants'>,
  args: { personId: string; workspaceId: string; app: PartnerApp },
): Promise<void> {
  const decision = await checkInstallPolicy(deps, args);
  if (!decision.allowed) throw new ConsentRefused('policy', decision.reason);
}

/**
 * The owners' agent policy, for apps of kind `agent` only: "No agents",
 * "Only agents from approved redirect hosts" (the host the agent returns to
 * is on the owners' list) or "Any agent". Like the install policy, it binds
 * members; owners, who set it, are not held by it.
 */
export async function checkAgentPolicy(
  deps: Pick<ConsentDeps, 'workspaces' | 'agentPolicies'>,
  args: { personId: string; workspaceId: string; app: PartnerApp; redirectUri: string },
): Promise<PolicyDecision> {
  if (args.app.clientKind !== 'agent') return { allowed: true };
  const { policy, approvedHosts } = await deps.agentPolicies.get(args.workspaceId);
  if (policy === 'any_agent') return { allowed: true };
  const membership = await deps.workspaces.membership(args.workspaceId, args.personId);
  if (membership?.role === 'owner' && membership.status === 'active') return { allowed: true };
  const workspace = await deps.workspaces.findById(args.workspaceId);
  const name = workspace?.name ?? 'this workspace';
  if (policy === 'no_agents')
    return { allowed: false, reason: `The owners of ${name} do not allow AI agents to connect. Ask a workspace owner if you need one.` };
  const host = new URL(args.redirectUri).hostname.toLowerCase();
  if (approvedHosts.includes(host)) return { allowed: true };
  return {
    allowed: false,
    reason: `The owners of ${name} only allow AI agents that return to a host they approved, and this agent returns to ${host.slice(0, 100)}. Ask a workspace owner to approve that host.`,
  };
}

/** Both owner policies, as the consent screens show them: the install policy first, then the agent policy. */
export async function checkConnectPolicy(
  deps: Pick<ConsentDeps, 'workspaces' | 'grants' | 'agentPolicies'>,
  args: { personId: string; workspaceId: string; app: PartnerApp; redirectUri: string },
): Promise<PolicyDecision> {
  const install = await checkInstallPolicy(deps, args);
  return install.allowed ? checkAgentPolicy(deps, args) : install;
}

export async function requireAgentAllowed(
  deps: Pick<ConsentDeps, 'workspaces' | 'agentPolicies'>,
  args: { personId: string; workspaceId: string; app: PartnerApp; redirectUri: string },
): Promise<void> {
  const decision = await checkAgentPolicy(deps, args);
  if (!decision.allowed) throw new ConsentRefused('agent_policy', decision.reason);
}

/** A person shares only pages reachable with their own connection, never someone else's. */
export async function requireUpstreamConnection(
  deps: Pick<ConsentDeps, 'connections'>,
  personId: string,
  workspaceId: string,
): Promise<UpstreamConnection> {
  const connection = await deps.connections.findForPersonAndWorkspace(personId, workspaceId);
  if (!connection || connection.status !== 'active') {
    throw new ConsentRefused('no_connection', 'Connect your Notion account for this workspace first.');
  }
  return connection;
}

export function requirePickedPages(pageIds: readonly string[]): string[] {
  const unique = [...new Set(pageIds)];
  if (unique.length === 0) throw new ConsentRefused('no_pages', 'Pick at least one page to share.');
  if (unique.length > MAX_PICKED_PAGES) {
    throw new ConsentRefused('too_many_pages', `Pick at most ${MAX_PICKED_PAGES} pages. Ticking a page shares every page inside it.`);
  }
  return unique;
}

/** B4: every picked page is in the person's own page index for this workspace. */
export async function requirePagesInIndex(
  deps: Pick<ConsentDeps, 'pageIndex'>,
  connection: UpstreamConnection,
  pageIds: string[],
): Promise<void> {
  const present = await deps.pageIndex.presentIds(connection.id, pageIds);
  const outside = pageIds.filter((id) => !present.has(id));
  if (outside.length > 0) {
    throw new ConsentRefused(
      'page_outside_index',
      'You picked a page that your Notion account does not share with Gatehouse in this workspace. Nothing was shared.',
      `pages outside index: ${outside.slice(0, 5).join(', ')}`,
    );
  }
}

/**
 * B4 and RFC 6749 §3.3: the posted capabilities are a subset of what was
 * asked (narrower is allowed, anything else is refused); the grant holds
 * exactly one user-information level, `no_user_info` when the posted subset
 * names none. Nothing posted means what was asked, as the screen showed it.
 */
export function requireAskedCapabilities(asked: readonly Capability[], posted: readonly string[] | null): Capability[] {
  if (posted === null) return normaliseCapabilities(asked);
  if (!posted.every(isCapability) || !isSubset(posted, asked)) {
    const extra = posted.filter((c) => !asked.includes(c as Capability)).map((c) => c.slice(0, 40));
    throw new ConsentRefused(
      'capability_not_asked',
      'The form named a capability the app did not ask for. Nothing was shared.',
      `not asked: ${extra.join(', ')}`,
    );
  }
  return normaliseCapabilities(posted as Capability[]);
}

// ── the rule ───────────────────────────────────────────────────────────────

/** Which pages the consent shares: the ones picked, or (re-authorisation from the first screen) the existing grant's. */
export type PageChoice = { kind: 'picked'; pageIds: string[] } | { kind: 'keep_existing' };

export interface AllowInput {
  lookup: TransactionLookup;
  person: { id: string; label: string };
  workspaceId: string;
  pages: PageChoice;
  /** The `capabilities` fields posted, or null when the form sent none. */
  capabilities: string[] | null;
  address: string | null;
}

export interface AllowResult {
  transaction: AuthorizationTransaction;
  code: string;
  grant: Grant;
}

export async function allowAccess(deps: ConsentDeps, input: AllowInput): Promise<AllowResult> {
  const transaction = requireOpenTransaction(input.lookup);
  const app = await requireApp(deps, transaction);
  try {
    await requireActiveMember(deps, input.person.id, input.workspaceId);
    await requireInstallAllowed(deps, { personId: input.person.id, workspaceId: input.workspaceId, app });
    await requireAgentAllowed(deps, {
      personId: input.person.id,
      workspaceId: input.workspaceId,
      app,
      redirectUri: transaction.redirectUri,
    });
    const connection = await requireUpstreamConnection(deps, input.person.id, input.workspaceId);
    const pageIds = requirePickedPages(await pagesOf(deps, input, transaction, connection));
    await requirePagesInIndex(deps, connection, pageIds);
    const capabilities = requireAskedCapabilities(transaction.capabilities, input.capabilities);
    const issueDeps: IssueCodeDeps = {
      grants: deps.grants,
      tokens: deps.tokens,
      audit: deps.audit,
      clock: deps.clock,
      codeLifetimeSeconds: deps.codeLifetimeSeconds,
    };
    const { code, grant } = await grantAndIssueCode(issueDeps, {
      transaction: { ...transaction, capabilities },
      personId: input.person.id,
      personLabel: input.person.label,
      workspaceId: input.workspaceId,
      upstreamConnectionId: connection.id,
      pageIds,
      address: input.address,
    });
    return { transaction, code, grant };
  } catch (err) {
    if (err instanceof ConsentRefused && (err.status === 403 || err.kind === 'capability_not_asked')) {
      await deps.audit.record(
        {
          action: 'consent.refused',
          actor: { type: 'person', id: input.person.id, label: input.person.label },
          target: { type: 'partner_app', id: app.id },
          workspaceId: null,
          address: input.address,
          outcome: 'failure',
          detail: { reason: err.kind, workspaceId: input.workspaceId.slice(0, 64) },
        },
        deps.clock.now(),
      );
    }
    throw err;
  }
}

/** Re-authorisation keeps the pages of the existing grant that the person's connection still reaches. */
async function pagesOf(
  deps: ConsentDeps,
  input: AllowInput,
  transaction: AuthorizationTransaction,
  connection: UpstreamConnection,
): Promise<string[]> {
  if (input.pages.kind === 'picked') return input.pages.pageIds;
  const grant = await activeGrantFor(deps, input.person.id, transaction.appId, input.workspaceId);
  if (!grant) throw new ConsentRefused('no_pages', 'You have not shared pages with this app in this workspace yet: use "Select pages".');
  const present = await deps.pageIndex.presentIds(connection.id, grant.pageIds);
  return grant.pageIds.filter((id) => present.has(id));
}

export async function activeGrantFor(
  deps: Pick<ConsentDeps, 'grants'>,
  personId: string,
  appId: string,
  workspaceId: string,
): Promise<Grant | null> {
  const grant = await deps.grants.findFor(personId, appId, workspaceId);
  return grant && grant.status === 'active' ? grant : null;
}
