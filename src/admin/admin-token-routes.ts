/**
 * Personal admin tokens: a signed-in person creates one on
 * a page, sees it once, and revokes their own. The database keeps its hash
 * only (src/store/admin-tokens.ts); src/admin/auth.ts gives its bearer
 * exactly the holder's rights, looked up at each request, so a person who
 * stops being an owner or an organisation admin takes their tokens' rights
 * with them.
 *
 * Declared contracts (../http/contract.ts): the API in the owner zone, the
 * page in the session-page zone; the OpenAPI document is generated from
 * ADMIN_TOKEN_API (./openapi.ts).
 *
 *   GET  /admin/tokens                         the page: own tokens, "Create admin token"
 *   POST /admin/tokens                         create; the token is shown once
 *   POST /admin/tokens/:token_id/revoke        "Revoke" (own tokens only)
 *   GET  /api/admin/v1/admin-tokens            own tokens (never hashes)
 *   POST /api/admin/v1/admin-tokens            create, with the session only (a token cannot mint tokens)
 *   POST /api/admin/v1/admin-tokens/:token_id/revoke
 */
import type { ZoneGuards } from '../http/zones.js';
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { isConfirmed, renderConfirmation } from '../http/confirmation.js';
import { contractsFor, type Contract, type HandlerContext } from '../http/contract.js';
import { mountZone } from '../http/zones.js';
import { badRequest, forbidden, notFound } from '../http/errors.js';
import { renderPage } from '../http/views.js';
import type { AuditEvent } from '../store/audit.js';
import type { PersonalAdminToken } from '../store/admin-tokens.js';
import type { Person } from '../store/people.js';
import type { Stores } from '../store/stores.js';

export interface AdminTokenRouteDeps {
  stores: Pick<Stores, 'adminTokens' | 'people' | 'audit'>;
  config: Pick<Config, 'adminEmails'>;
  clock: Clock;
}

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

export const newAdminTokenBodySchema = z
  .object({
    label: z.string().min(1).max(100).describe('What the token is for, e.g. "laptop CLI"'),
  })
  .strict();

export const adminTokenWireSchema = z.object({
  id: z.string(),
  label: z.string(),
  token: z.string().optional().describe('In the creation answer only'),
  created_at: z.string(),
  last_used_at: z.string().nullable(),
  revoked_at: z.string().nullable(),
});

function toWire(t: PersonalAdminToken, token?: string) {
  return {
    id: t.id,
    label: t.label,
    ...(token ? { token } : {}),
    created_at: t.createdAt.toISOString(),
    last_used_at: t.lastUsedAt?.toISOString() ?? null,
    revoked_at: t.revokedAt?.toISOString() ?? null,
  };
}

function checkLabel(label: string): string {
  const trimmed = label.trim();
  if (trimmed.length < 1 || trimmed.length > 100 || CONTROL.test(trimmed))
    throw badRequest('The label must be 1 to 100 characters, without control characters.');
  return trimmed;
}

const { api, page } = contractsFor<AdminTokenRouteDeps>();
const V1 = '/api/admin/v1';
const tokenParams = z.object({ token_id: z.string() });

const audit = (deps: AdminTokenRouteDeps, action: AuditEvent['action'], actor: AuditEvent['actor'], tokenId: string, req: Request) =>
  deps.stores.audit.record(
    { action, actor, target: { type: 'admin_token', id: tokenId }, address: req.ip ?? null, outcome: 'success' },
    deps.clock.now(),
  );

async function create(deps: AdminTokenRouteDeps, person: Person, label: string, via: 'person' | 'admin_token', req: Request) {
  const { token, id } = await deps.stores.adminTokens.create(
    { personId: person.id, label: checkLabel(label), bootstrap: false },
    deps.clock.now(),
  );
  await audit(deps, 'admin_token.created', { type: via, id: person.id, label: person.email }, id, req);
  const listed = (await deps.stores.adminTokens.listForPerson(person.id)).find((t) => t.id === id)!;
  return { token, listed };
}

async function revoke(deps: AdminTokenRouteDeps, person: Person, tokenId: string, via: 'person' | 'admin_token', req: Request) {
  const revoked = await deps.stores.adminTokens.revokeForPerson(person.id, tokenId, deps.clock.now());
  if (!revoked) {
    const mine = await deps.stores.adminTokens.listForPerson(person.id);
    // Revoking one's own token twice is a no-op; someone else's token does not exist for this caller.
    if (!mine.some((t) => t.id === tokenId)) throw notFound('You have no admin token with this id.');
    return false;
  }
  await audit(deps, 'admin_token.revoked', { type: via, id: person.id, label: person.email }, tokenId, req);
  return true;
}

/** The bootstrap token stands for nobody: it has no tokens of its own. */
function aPerson({ res }: HandlerContext): void {
  if (!res.locals.principal!.person) throw forbidden('The bootstrap admin token has no personal admin tokens.');
}

// ---- JSON API ----------------------------------------------------------

export const listAdminTokens = api(
  {
    zone: 'owner',
    name: 'listAdminTokens',
    method: 'get',
    path: `${V1}/admin-tokens`,
    summary: "The caller's own personal admin tokens (never hashes)",
    caller: aPerson,
    answer: z.object({ object: z.literal('list'), admin_tokens: z.array(adminTokenWireSchema) }),
    audit: { none: 'a read' },
  },
  async (_input, { res }, deps) => {
    const list = await deps.stores.adminTokens.listForPerson(res.locals.principal!.person!.id);
    return { object: 'list' as const, admin_tokens: list.map((t) => toWire(t)) };
  },
);

export const createAdminToken = api(
  {
    zone: 'owner',
    name: 'createAdminToken',
    method: 'post',
    path: `${V1}/admin-tokens`,
    summary: "Create a personal admin token (signed-in session only); shown once, carries exactly its holder's rights",
    caller: (ctx) => {
      aPerson(ctx);
      if (ctx.res.locals.principal!.via !== 'session')
        throw forbidden('Admin tokens are created by a signed-in person, not by another admin token.');
    },
    body: newAdminTokenBodySchema,
    bodyRequired: true,
    answer: adminTokenWireSchema,
    successStatus: 201,
    components: { body: 'NewAdminToken', answer: 'AdminToken' },
    audit: 'admin_token.created',
    refusals: { 400: 'Bad input; nothing stored' },
  },
  async ({ body }, { req, res }, deps) => {
    const { token, listed } = await create(deps, res.locals.principal!.person!, body.label, 'person', req);
    return toWire(listed, token);
  },
);

export const revokeAdminToken = api(
  {
    zone: 'owner',
    name: 'revokeAdminToken',
    method: 'post',
    path: `${V1}/admin-tokens/:token_id/revoke`,
    summary: "Revoke one of the caller's own admin tokens",
    caller: aPerson,
    params: tokenParams,
    answer: z.object({ id: z.string(), revoked: z.boolean() }),
    audit: 'admin_token.revoked',
    refusals: { 404: 'No admin token of the caller with this id' },
  },
  async ({ params }, { req, res }, deps) => {
    const principal = res.locals.principal!;
    const revoked = await revoke(deps, principal.person!, params.token_id, principal.via === 'session' ? 'person' : 'admin_token', req);
    return { id: params.token_id, revoked };
  },
);

// ---- The page ----------------------------------------------------------

async function render(
  deps: AdminTokenRouteDeps,
  req: Request,
  res: Response,
  extra: { created?: { label: string; token: string }; error?: string; notice?: string } = {},
  status = 200,
) {
  const list = await deps.stores.adminTokens.listForPerson(req.user!.id);
  renderPage(
    res,
    'admin-tokens',
    {
      title: 'Admin tokens',
      tokens: list.map((t) => ({
        id: t.id,
        label: t.label,
        created: t.createdAt.toISOString().slice(0, 16).replace('T', ' '),
        lastUsed: t.lastUsedAt ? t.lastUsedAt.toISOString().slice(0, 16).replace('T', ' ') : 'Never',
        revoked: t.revokedAt !== null,
      })),
      created: extra.created ?? null,
      error: extra.error ?? null,
      notice: extra.notice ?? null,
    },
    status,
  );
}

export const adminTokensPage = page(
  {
    zone: 'session-page',
    name: 'adminTokensPage',
    method: 'get',
    path: '/admin/tokens',
    summary: 'Own admin tokens, "Create admin token"',
    answer: 'html',
    audit: { none: 'a page' },
  },
  async (_input, { req, res }, deps) => render(deps, req, res),
);

export const createAdminTokenPage = page(
  {
    zone: 'session-page',
    name: 'createAdminTokenPage',
    method: 'post',
    path: '/admin/tokens',
    summary: 'Create an admin token; it is shown once',
    body: z.object({ _csrf: z.string().optional(), label: z.string().max(1000) }).strict(),
    bodyRequired: true,
    answer: 'html',
    audit: 'admin_token.created',
  },
  async ({ body }, { req, res }, deps) => {
    let label: string;
    try {
      label = checkLabel(body.label);
    } catch (err) {
      await render(deps, req, res, { error: (err as Error).message }, 400);
      return;
    }
    const { token } = await create(deps, req.user!, label, 'person', req);
    await render(deps, req, res, { created: { label, token } }, 201);
  },
);

export const revokeAdminTokenPage = page(
  {
    zone: 'session-page',
    name: 'revokeAdminTokenPage',
    method: 'post',
    path: '/admin/tokens/:token_id/revoke',
    summary: '"Revoke" (own tokens only)',
    params: tokenParams,
    answer: 'html',
    audit: 'admin_token.revoked',
  },
  async ({ params }, { req, res }, deps) => {
    if (!isConfirmed(req.body)) {
      // The confirm step (../http/confirmation.ts): one's own live token only; anything else goes on to revoke()'s answer.
      const token = (await deps.stores.adminTokens.listForPerson(req.user!.id)).find((t) => t.id === params.token_id);
      if (token && token.revokedAt === null) {
        return renderConfirmation(res, {
          heading: `Revoke the admin token "${token.label}"?`,
          consequences: [
            `The admin token "${token.label}" stops working at once: the command line or script holding it is refused from its next request.`,
          ],
          action: `/admin/tokens/${encodeURIComponent(token.id)}/revoke`,
          button: { text: 'Revoke', label: `Revoke ${token.label}` },
          cancelHref: '/admin/tokens',
        });
      }
    }
    const revoked = await revoke(deps, req.user!, params.token_id, 'person', req);
    await render(deps, req, res, { notice: revoked ? 'Token revoked: it no longer works.' : 'That token was already revoked.' });
  },
);

export const ADMIN_TOKEN_API: ReadonlyArray<Contract<'owner', AdminTokenRouteDeps>> = [listAdminTokens, createAdminToken, revokeAdminToken];
export const ADMIN_TOKEN_PAGES: ReadonlyArray<Contract<'session-page', AdminTokenRouteDeps>> = [
  adminTokensPage,
  createAdminTokenPage,
  revokeAdminTokenPage,
];

export function adminTokenRoutes(deps: AdminTokenRouteDeps, guards: ZoneGuards): Router {
  const router = Router();
  mountZone(router, 'owner', ADMIN_TOKEN_API, deps, guards);
  // Any other path under /admin-tokens: refused as the operations are (401, then 403 to the bootstrap token), before a 404.
  router.use(`${V1}/admin-tokens`, guards.principal, (req, res, next) => {
    aPerson({ req, res });
    next();
  });
  mountZone(router, 'session-page', ADMIN_TOKEN_PAGES, deps, guards);
  return router;
}
