/**
 * Personal admin tokens: a signed-in person creates one on
 * a page, sees it once, and revokes their own. The database keeps its hash
 * only (src/store/admin-tokens.ts); src/admin/auth.ts gives its bearer
 * exactly the holder's rights, looked up at each request, so a person who
 * stops being an owner or an organisation admin takes their tokens' rights
 * with them.
 *
 *   GET  /admin/tokens                         the page: own tokens, "Create admin token"
 *   POST /admin/tokens                         create; the token is shown once
 *   POST /admin/tokens/:tokenId/revoke         "Revoke" (own tokens only)
 *   GET  /api/admin/v1/admin-tokens            own tokens (never hashes)
 *   POST /api/admin/v1/admin-tokens            create, with the session only (a token cannot mint tokens)
 *   POST /api/admin/v1/admin-tokens/:tokenId/revoke
 */
import type { ZoneGuards } from '../http/zones.js';
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { requireSignIn } from '../http/auth-guards.js';
import { badRequest, forbidden, notFound } from '../http/errors.js';
import { renderPage } from '../http/views.js';
import type { AuditEvent } from '../store/audit.js';
import type { PersonalAdminToken } from '../store/admin-tokens.js';
import type { Person } from '../store/people.js';
import type { Stores } from '../store/stores.js';

import { describeZodError } from '../http/validation.js';

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

export function adminTokenRoutes(deps: AdminTokenRouteDeps, guards: ZoneGuards): Router {
  const router = Router();
  const { stores } = deps;

  const audit = (action: AuditEvent['action'], actor: AuditEvent['actor'], tokenId: string, req: Request) =>
    stores.audit.record(
      { action, actor, target: { type: 'admin_token', id: tokenId }, address: req.ip ?? null, outcome: 'success' },
      deps.clock.now(),
    );

  const create = async (person: Person, label: string, via: 'person' | 'admin_token', req: Request) => {
    const { token, id } = await stores.adminTokens.create(
      { personId: person.id, label: checkLabel(label), bootstrap: false },
      deps.clock.now(),
    );
    await audit('admin_token.created', { type: via, id: person.id, label: person.email }, id, req);
    const listed = (await stores.adminTokens.listForPerson(person.id)).find((t) => t.id === id)!;
    return { token, listed };
  };

  const revoke = async (person: Person, tokenId: string, via: 'person' | 'admin_token', req: Request) => {
    const revoked = await stores.adminTokens.revokeForPerson(person.id, tokenId, deps.clock.now());
    if (!revoked) {
      const mine = await stores.adminTokens.listForPerson(person.id);
      // Revoking one's own token twice is a no-op; someone else's token does not exist for this caller.
      if (!mine.some((t) => t.id === tokenId)) throw notFound('You have no admin token with this id.');
      return false;
    }
    await audit('admin_token.revoked', { type: via, id: person.id, label: person.email }, tokenId, req);
    return true;
  };

  // ---- JSON API ----------------------------------------------------------
  router.use('/api/admin/v1/admin-tokens', guards.principal, (_req, res, next) => {
    if (!res.locals.principal!.person) return next(forbidden('The bootstrap admin token has no personal admin tokens.'));
    next();
  });

  router.get('/api/admin/v1/admin-tokens', async (_req, res) => {
    const list = await stores.adminTokens.listForPerson(res.locals.principal!.person!.id);
    res.json({ object: 'list', admin_tokens: list.map((t) => toWire(t)) });
  });

  router.post('/api/admin/v1/admin-tokens', async (req, res) => {
    const principal = res.locals.principal!;
    if (principal.via !== 'session') throw forbidden('Admin tokens are created by a signed-in person, not by another admin token.');
    const parsed = newAdminTokenBodySchema.safeParse(req.body);
    if (!parsed.success) throw badRequest(describeZodError(parsed.error, req.body));
    const { token, listed } = await create(principal.person!, parsed.data.label, 'person', req);
    res.status(201).json(toWire(listed, token));
  });

  router.post('/api/admin/v1/admin-tokens/:tokenId/revoke', async (req, res) => {
    const principal = res.locals.principal!;
    const revoked = await revoke(
      principal.person!,
      String(req.params.tokenId),
      principal.via === 'session' ? 'person' : 'admin_token',
      req,
    );
    res.json({ id: String(req.params.tokenId), revoked });
  });

  // ---- The page ----------------------------------------------------------
  const render = async (
    req: Request,
    res: Response,
    extra: { created?: { label: string; token: string }; error?: string; notice?: string } = {},
    status = 200,
  ) => {
    const list = await stores.adminTokens.listForPerson(req.user!.id);
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
  };

  router.get('/admin/tokens', requireSignIn, async (req, res) => render(req, res));

  router.post('/admin/tokens', requireSignIn, async (req, res) => {
    const parsed = z
      .object({ _csrf: z.string().optional(), label: z.string().max(1000) })
      .strict()
      .safeParse(req.body);
    if (!parsed.success) throw badRequest(describeZodError(parsed.error, req.body));
    let label: string;
    try {
      label = checkLabel(parsed.data.label);
    } catch (err) {
      await render(req, res, { error: (err as Error).message }, 400);
      return;
    }
    const { token } = await create(req.user!, label, 'person', req);
    await render(req, res, { created: { label, token } }, 201);
  });

  router.post('/admin/tokens/:tokenId/revoke', requireSignIn, async (req, res) => {
    const revoked = await revoke(req.user!, String(req.params.tokenId), 'person', req);
    await render(req, res, { notice: revoked ? 'Token revoked: it no longer works.' : 'That token was already revoked.' });
  });

  return router;
}
