/**
 * One page of each of the console's long lists: the store pages and
 * searches the ids in SQL (../../store/console-lists.ts), these rules load
 * just that page's rows, shaped as the unpaged rules shape them
 * (../connections.ts, ../approved-apps.ts).
 */
import type { GrantSummary } from '../../store/grants.js';
import type { ConsoleListStore } from '../../store/console-lists.js';
import {
  appFacts,
  ConsoleError,
  type ApprovedEntry,
  type ConsoleDeps,
  type UserWithAccess,
  type WorkspaceConnection,
} from '../connections.js';
import type { ListQuery } from './paging.js';

type Deps = ConsoleDeps & { consoleLists: ConsoleListStore };

const byApp = (grants: GrantSummary[]) => {
  const out = new Map<string, GrantSummary[]>();
  for (const g of grants) (out.get(g.appId) ?? out.set(g.appId, []).get(g.appId)!).push(g);
  for (const list of out.values()) list.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
  return out;
};

/** "Connections in <workspace>": one page of partner apps by name, `q` matching the name. */
export async function pagedWorkspaceConnections(
  deps: Deps,
  workspaceId: string,
  list: ListQuery,
): Promise<{ rows: WorkspaceConnection[]; total: number }> {
  const { ids, total } = await deps.consoleLists.connectedApps(workspaceId, list);
  const grants = byApp(await deps.grants.listActiveForApps(workspaceId, ids));
  const approved = new Set((await deps.grants.listApproved(workspaceId)).map((a) => a.appId));
  const rows: WorkspaceConnection[] = [];
  for (const appId of ids) {
    const app = await deps.partnerApps.findById(appId);
    if (app) rows.push({ app: appFacts(app), approved: approved.has(appId), grants: grants.get(appId) ?? [] });
  }
  return { rows, total };
}

/** "Approved connections": one page by name, each with who installed it. */
export async function pagedApprovedList(
  deps: Deps,
  workspaceId: string,
  list: ListQuery,
): Promise<{ rows: ApprovedEntry[]; total: number }> {
  const { ids, total } = await deps.consoleLists.approvedApps(workspaceId, list);
  const added = new Map((await deps.grants.listApproved(workspaceId)).map((a) => [a.appId, a.addedAt]));
  const grants = byApp(await deps.grants.listActiveForApps(workspaceId, ids));
  const rows: ApprovedEntry[] = [];
  for (const appId of ids) {
    const app = await deps.partnerApps.findById(appId);
    if (!app) continue;
    rows.push({
      app: appFacts(app),
      addedAt: added.get(appId) ?? new Date(0),
      installers: (grants.get(appId) ?? []).map((g) => ({ grantId: g.id, personId: g.personId, email: g.personEmail, name: g.personName })),
    });
  }
  return { rows, total };
}

/** "View users with access": one page of the app's grants, `q` matching the person's email or name. */
export async function pagedUsersWithAccess(
  deps: Deps,
  workspaceId: string,
  appId: string,
  list: ListQuery & { personId?: string },
): Promise<{ users: UserWithAccess[]; total: number; installers: Array<{ id: string; email: string }> }> {
  const everyone = await deps.consoleLists.appGrants(workspaceId, appId, { limit: 200, offset: 0 });
  if (everyone.total === 0 && !(await deps.grants.isApproved(workspaceId, appId)))
    throw new ConsoleError('not_found', 'This connection is not in this workspace.');
  const { ids, total } = await deps.consoleLists.appGrants(workspaceId, appId, list);
  const found = new Map((await deps.grants.listActiveByIds(ids)).map((g) => [g.id, g]));
  const users: UserWithAccess[] = [];
  for (const id of ids) {
    const g = found.get(id);
    if (!g) continue;
    const titles = await deps.pageIndex.titles(g.upstreamConnectionId, g.pageIds);
    users.push({
      grantId: g.id,
      person: { id: g.personId, email: g.personEmail, name: g.personName },
      pages: g.pageIds.map((p) => ({ id: p, title: titles.get(p) ?? 'Page no longer shared' })),
      capabilities: g.capabilities,
      addedAt: g.createdAt,
    });
  }
  // The person filter offers the first 200 installers; beyond that, the search finds anyone.
  const installers = (await deps.grants.listActiveByIds(everyone.ids))
    .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())
    .map((g) => ({ id: g.personId, email: g.personEmail }));
  return { users, total, installers };
}
