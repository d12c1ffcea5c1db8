/**
 * A page's own "Connections", as Notion's Share menu shows them: besides the
 * internal integrations connected to the page, every partner grant that
 * reaches it, picked on this page or inherited from a parent page (a grant
 * reaches a picked page's descendants), each with its access level in the
 * capability words of the consent screen. "Disconnect" on a grant picked
 * here takes this page out of that grant after a confirmation, and on the
 * grant's last picked page revokes the grant (a grant with no pages reaches
 * nothing, so it would only linger as an active connection): the
 * confirmation says so, and the tokens die as on any revocation. An
 * inherited one names the parent where it can be disconnected. Owners see
 * every grant reaching the page, members only their own. The proxy reads a
 * grant's picks from the database on every call (its shared cache holds
 * only ancestor chains of pages), so the page is out of reach at the
 * partner's next call, on every instance.
 */
import type { Request } from 'express';
import { z } from 'zod';
import type { Stores } from '../store/stores.js';
import { ConsoleError, requireVisibleGrant } from '../admin/connections.js';
import { revokeGrant } from '../admin/revocation.js';
import { id, page, pageActor, pageCaller } from '../admin/console/context.js';
import { capabilityText } from '../admin/console/pages.js';

const MAX_DEPTH = 64;

/** The page's ancestors in the viewer's page index, nearest first: one query up the parent links. */
async function ancestorsOf(stores: Pick<Stores, 'pageIndex'>, connectionId: string, pageId: string) {
  const known = await stores.pageIndex.withAncestors(connectionId, [pageId], MAX_DEPTH);
  const out: Array<{ id: string; title: string }> = [];
  let current = known.get(pageId);
  while (current?.parentId && out.length < MAX_DEPTH && current.parentId !== pageId && !out.some((a) => a.id === current!.parentId)) {
    const parent = known.get(current.parentId);
    if (!parent) break;
    out.push({ id: parent.pageId, title: parent.title || 'Untitled' });
    current = parent;
  }
  return out;
}

/** Whether a page's ancestor, in the viewer's own index, is among these picks: the grant still reaches the page. */
async function pickedAncestorOf(
  stores: Pick<Stores, 'pageIndex' | 'connections'>,
  viewerId: string,
  at: { workspace_id: string; page_id: string },
  pageIds: readonly string[],
): Promise<boolean> {
  const connection = await stores.connections.findForPersonAndWorkspace(viewerId, at.workspace_id);
  if (!connection) return false;
  return (await ancestorsOf(stores, connection.id, at.page_id)).some((a) => pageIds.includes(a.id));
}

const pagePath = (workspaceId: string, pageId: string) =>
  `/workspaces/${encodeURIComponent(workspaceId)}/pages/${encodeURIComponent(pageId)}`;

/**
 * The partner grants reaching a page, for its Connections table: owners see
 * everyone's, anyone else only their own (`onlyPersonId`).
 */
export async function pagePartnerGrants(
  stores: Pick<Stores, 'pageIndex' | 'grants' | 'consoleLists'>,
  req: Request,
  args: { workspaceId: string; pageId: string; connectionId: string; onlyPersonId?: string },
) {
  const ancestors = await ancestorsOf(stores, args.connectionId, args.pageId);
  const ids = await stores.consoleLists.grantsPicking(args.workspaceId, [args.pageId, ...ancestors.map((a) => a.id)], args.onlyPersonId);
  const grants = await stores.grants.listActiveByIds(ids);
  const confirming = typeof req.query.confirm === 'string' ? req.query.confirm : null;
  const here = pagePath(args.workspaceId, args.pageId);
  const rows = ids
    .map((gid) => grants.find((g) => g.id === gid))
    .filter((g) => g !== undefined)
    .map((g) => {
      const picked = g.pageIds.includes(args.pageId);
      // The nearest picked ancestor: where disconnecting would take this page out (for a page picked here too, what
      // would still reach it after disconnecting here).
      const from = ancestors.find((a) => g.pageIds.includes(a.id)) ?? null;
      return {
        id: g.id,
        app: g.appName,
        person: g.personEmail,
        access: capabilityText(g.capabilities),
        picked,
        inheritedFrom: !picked && from ? { title: from.title, href: pagePath(args.workspaceId, from.id) } : null,
        alsoFrom: picked && from ? { title: from.title, href: pagePath(args.workspaceId, from.id) } : null,
        disconnectAction: picked ? `${here}/grants/${g.id}/disconnect` : null,
        confirming: picked && confirming === g.id,
        // Its only picked page: disconnecting it here revokes the whole grant (its confirmation says so).
        lastPage: picked && g.pageIds.length === 1,
      };
    });
  const notice =
    req.query.notice === 'partner_removed'
      ? "This page was removed from that connection: the partner's next request to it is refused."
      : req.query.notice === 'partner_still_inherited'
        ? 'This page was removed from what that connection picked, but the connection still reaches it through a parent page: disconnect it there.'
        : req.query.notice === 'partner_revoked'
          ? "That connection is revoked: this was its last page. The partner's tokens for it stopped working at once."
          : null;
  return { rows, notice, cancelHref: here };
}

export const disconnectPageGrant = page(
  {
    zone: 'session-page',
    name: 'disconnectPageGrantPage',
    method: 'post',
    path: '/workspaces/:workspace_id/pages/:page_id/grants/:grant_id/disconnect',
    summary:
      '"Disconnect" a partner grant picked on this page (removes the page from the grant; on its last page, revokes the grant), after a confirmation',
    params: z.object({ workspace_id: id, page_id: id, grant_id: id }),
    body: z.object({ _csrf: z.string(), confirm: z.literal('yes').optional() }).strict(),
    answer: 'redirect',
    audit: ['grant.page_removed', 'grant.revoked'],
  },
  async ({ params, body }, { req, res }, deps) => {
    // Their own grant, or any grant of a workspace they own; anything else does not exist from here.
    const visible = await requireVisibleGrant(deps.rules, pageCaller(req, deps), params.grant_id);
    const grant = await deps.stores.grants.findById(visible.grantId);
    if (!grant || grant.status !== 'active' || grant.workspaceId !== params.workspace_id)
      throw new ConsoleError('not_found', 'No such grant.');
    const back = pagePath(grant.workspaceId, params.page_id);
    if (!grant.pageIds.includes(params.page_id))
      throw new ConsoleError(
        'invalid',
        'This connection was not picked on this page: it reaches it through a parent page. Disconnect it there.',
      );
    // The first press asks (the page's row says whether this is the last page); the second, carrying confirm=yes, does it.
    if (body.confirm !== 'yes') return res.redirect(303, `${back}?confirm=${grant.id}#grant-${grant.id}`);
    const actor = pageActor(req);
    const why = `last page disconnected by ${visible.own ? 'the person who granted it' : 'a workspace owner'}`;
    const now = deps.clock.now();
    // The page comes out first, conditionally (of two presses, one takes it); a grant left with no page reaches
    // nothing and is revoked through the one revocation path (tokens, audit). Deciding on what the grant holds after
    // the update, not before it, never revokes pages the person added meanwhile.
    if (await deps.stores.grants.removePage(grant.id, params.page_id, now)) {
      await deps.stores.audit.record(
        {
          action: 'grant.page_removed',
          actor: { type: actor.type, id: actor.id, label: actor.label },
          target: { type: 'grant', id: grant.id },
          workspaceId: grant.workspaceId,
          address: actor.address,
          outcome: 'success',
          detail: { pageId: params.page_id, appId: grant.appId, own: visible.own },
        },
        now,
      );
    }
    const after = await deps.stores.grants.findById(grant.id);
    if (after?.status === 'active' && after.pageIds.length === 0) {
      await revokeGrant(deps.revocation, grant.id, actor, why);
      return res.redirect(303, `${back}?notice=partner_revoked`);
    }
    if (after?.status === 'active' && (await pickedAncestorOf(deps.stores, req.user!.id, params, after.pageIds)))
      return res.redirect(303, `${back}?notice=partner_still_inherited`);
    res.redirect(303, `${back}?notice=partner_removed`);
  },
);
