/**
 * Notion's webhooks over HTTP (HTTP only; the rules are in ./intake.ts):
 *
 *   POST /webhooks/notion                                  Gatehouse's public integration
 *   POST /webhooks/notion/internal/:integrationId          a pasted internal integration's own subscription
 *   GET  /api/admin/v1/webhooks/notion-token[?integration_id=]   the token Notion sent (organisation admins)
 *   POST /api/admin/v1/webhooks/notion-token/reset         forget it, so the next verification POST is taken
 *                                                          (these two: declared contracts, org-admin zone)
 *   GET  /admin/webhooks                                   the "Webhooks" page (organisation admins)
 *   POST /admin/webhooks/reset                             its "Reset" button
 *                                                          (these two: declared page contracts, org-admin zone)
 *
 * The intake reads the raw body (the signature covers the bytes as sent) and
 * is mounted before sessions and CSRF: Notion carries no cookies.
 */
import { mountZone, type ZoneGuards } from '../http/zones.js';
import { contractsFor, type Contract } from '../http/contract.js';
import express, { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Keyring } from '../crypto/keyring.js';
import { notFound } from '../http/errors.js';
import { renderPage } from '../http/views.js';
import type { Stores } from '../store/stores.js';
import type { WebhookEventStore } from '../store/webhook-events.js';
import { INTAKE_REFUSALS, IntakeRefused, intakeTokenOf, PUBLIC_INTAKE_ID, receiveNotionWebhook, type IntakeDeps } from './intake.js';

export const INTAKE_MAX_BYTES = 512 * 1024;

export interface IntakeRouteDeps extends IntakeDeps {
  internalIntegrations: Stores['internalIntegrations'];
  metrics?: { eventsIn: (outcome: string) => void };
}

/** Answers in the admin API's error shape; Notion reads only the status. */
function refuse(res: Response, status: number, code: string, message: string): void {
  res.status(status).json({ error: { code, message } });
}

export function webhookIntakeRoutes(deps: IntakeRouteDeps): Router {
  const router = Router();
  const raw = express.raw({ type: () => true, limit: INTAKE_MAX_BYTES });

  const receive = (intakeOf: (req: Request) => Promise<string | null>) => async (req: Request, res: Response) => {
    try {
      const intakeId = await intakeOf(req);
      if (intakeId === null) throw new IntakeRefused('unknown_intake');
      const outcome = await receiveNotionWebhook(
        {
          intakeId,
          contentType: req.headers['content-type'],
          rawBody: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
          signature: req.get('x-notion-signature'),
          address: req.ip ?? null,
        },
        deps,
      );
      deps.metrics?.eventsIn(outcome.kind);
      res.status(200).json({});
    } catch (err) {
      if (!(err instanceof IntakeRefused)) throw err;
      deps.metrics?.eventsIn(err.reason);
      const { status, message } = INTAKE_REFUSALS[err.reason];
      refuse(res, status, err.reason, message);
    }
  };

  // Body-parser's own refusals (too large, unreadable) answer here in the same shape, before the app's error page.
  const bodyErrors = (err: { status?: number; type?: string }, _req: Request, res: Response, next: (e?: unknown) => void) => {
    if (err?.status === 413) return refuse(res, 413, 'payload_too_large', `Webhook bodies are limited to ${INTAKE_MAX_BYTES / 1024} KB.`);
    if (typeof err?.status === 'number' && err.status >= 400 && err.status < 500)
      return refuse(res, 400, 'malformed', 'The body could not be read.');
    next(err);
  };

  router.post(
    '/webhooks/notion',
    raw,
    receive(async () => PUBLIC_INTAKE_ID),
  );
  router.post(
    '/webhooks/notion/internal/:integrationId',
    raw,
    receive(async (req) => {
      const app = await deps.internalIntegrations.findById(String(req.params.integrationId));
      return app ? app.id : null;
    }),
  );
  router.use('/webhooks/notion', bodyErrors);
  return router;
}

export interface IntakeAdminDeps {
  stores: Pick<Stores, 'adminTokens' | 'people' | 'audit' | 'internalIntegrations' | 'workspaces'> & { webhookEvents: WebhookEventStore };
  config: Pick<Config, 'adminEmails' | 'publicUrl'>;
  keyring: Keyring;
  clock: Clock;
}

const tokenQuery = z.object({ integration_id: z.string().max(100).optional() }).strict();
const resetBody = z.object({ integration_id: z.string().max(100).optional() }).strict();

/** The intakes an organisation admin sees: the public one and one per internal integration. */
async function intakeIdFor(deps: IntakeAdminDeps, integrationId: string | undefined): Promise<string> {
  if (integrationId === undefined) return PUBLIC_INTAKE_ID;
  const app = await deps.stores.internalIntegrations.findById(integrationId);
  if (!app) throw notFound('There is no internal integration with that id.');
  return app.id;
}

function intakeUrl(publicUrl: string, intakeId: string): string {
  const base = publicUrl.replace(/\/+$/, '');
  return intakeId === PUBLIC_INTAKE_ID ? `${base}/webhooks/notion` : `${base}/webhooks/notion/internal/${intakeId}`;
}

async function resetIntake(
  deps: IntakeAdminDeps,
  intakeId: string,
  actor: { type: 'person' | 'admin_token'; id: string | null; label: string },
  address: string | null,
) {
  const now = deps.clock.now();
  await deps.stores.webhookEvents.resetIntake(intakeId, now);
  await deps.stores.audit.record(
    { action: 'webhook_intake.reset', actor, target: { type: 'webhook_intake', id: intakeId }, address, outcome: 'success' },
    now,
  );
}

const { api } = contractsFor<IntakeAdminDeps>();
const rulesOf = (deps: IntakeAdminDeps) => ({ events: deps.stores.webhookEvents, keyring: deps.keyring });
const intakeKind = z.enum(['public', 'internal']);

export const notionTokenOperation = api(
  {
    zone: 'org-admin',
    name: 'getNotionWebhookToken',
    method: 'get',
    path: '/api/admin/v1/webhooks/notion-token',
    summary: "The verification token Notion sent to an intake: the public one, or an internal integration's (organisation admins)",
    query: tokenQuery,
    answer: z.object({
      intake: intakeKind,
      integration_id: z.string().nullable(),
      url: z.string(),
      verification_token: z.string().nullable(),
      received_at: z.string().nullable(),
      confirmed_at: z.string().nullable(),
    }),
    audit: { none: 'a read (organisation admins only)' },
    refusals: { 400: 'Bad input', 404: 'No such integration' },
  },
  async ({ query }, { res }, deps) => {
    const intakeId = await intakeIdFor(deps, query.integration_id);
    const token = await intakeTokenOf(intakeId, rulesOf(deps));
    res.setHeader('Cache-Control', 'no-store');
    return {
      intake: intakeId === PUBLIC_INTAKE_ID ? ('public' as const) : ('internal' as const),
      integration_id: intakeId === PUBLIC_INTAKE_ID ? null : intakeId,
      url: intakeUrl(deps.config.publicUrl, intakeId),
      verification_token: token.token,
      received_at: token.receivedAt?.toISOString() ?? null,
      confirmed_at: token.confirmedAt?.toISOString() ?? null,
    };
  },
);

export const resetNotionTokenOperation = api(
  {
    zone: 'org-admin',
    name: 'resetNotionWebhookToken',
    method: 'post',
    path: '/api/admin/v1/webhooks/notion-token/reset',
    summary: "Forget an intake's token, so that Notion's next verification request is taken (organisation admins); audited",
    body: resetBody,
    bodyOptional: true,
    answer: z.object({ intake: intakeKind, verification_token: z.null() }),
    audit: 'webhook_intake.reset',
    refusals: { 400: 'Bad input', 404: 'No such integration' },
  },
  async ({ body }, { req, res }, deps) => {
    const intakeId = await intakeIdFor(deps, body.integration_id);
    const principal = res.locals.principal!;
    await resetIntake(
      deps,
      intakeId,
      { type: principal.via === 'session' ? 'person' : 'admin_token', id: principal.person?.id ?? null, label: principal.label },
      req.ip ?? null,
    );
    return { intake: intakeId === PUBLIC_INTAKE_ID ? ('public' as const) : ('internal' as const), verification_token: null };
  },
);

export const INTAKE_ADMIN_API: ReadonlyArray<Contract<'org-admin', IntakeAdminDeps>> = [notionTokenOperation, resetNotionTokenOperation];

// ---- The page ----------------------------------------------------------

const PAGE_ADMIN_ONLY = 'Only organisation admins see webhook settings.';

async function renderIntakes(deps: IntakeAdminDeps, res: Response, notice: string | null) {
  const rules = rulesOf(deps);
  const workspaces = await deps.stores.workspaces.listAll();
  const integrations = (await deps.stores.internalIntegrations.listForWorkspaces(workspaces.map((w) => w.id))).map((i) => ({
    id: i.id,
    name: i.name,
    workspace: workspaces.find((w) => w.id === i.workspaceId)?.name ?? i.workspaceId,
  }));
  const intakes = await Promise.all(
    [{ id: PUBLIC_INTAKE_ID, name: 'Gatehouse (public integration)', workspace: 'every connected workspace' }, ...integrations].map(
      async (i) => {
        const token = await intakeTokenOf(i.id, rules);
        return {
          ...i,
          resetValue: i.id === PUBLIC_INTAKE_ID ? '' : i.id,
          url: intakeUrl(deps.config.publicUrl, i.id),
          token: token.token,
          state: token.confirmedAt ? 'confirmed' : token.token ? 'received, not confirmed yet' : 'waiting for Notion',
        };
      },
    ),
  );
  res.setHeader('Cache-Control', 'no-store');
  renderPage(res, 'webhooks', { title: 'Webhooks', intakes, notice });
}

const { page } = contractsFor<IntakeAdminDeps>();

export const webhooksPage = page(
  {
    zone: 'org-admin',
    adminOnly: PAGE_ADMIN_ONLY,
    name: 'webhooksPage',
    method: 'get',
    path: '/admin/webhooks',
    summary: 'The "Webhooks" page: each intake, its URL and the token Notion sent',
    answer: 'html',
    audit: { none: 'a page' },
  },
  async (_input, { res }, deps) => renderIntakes(deps, res, null),
);

export const resetIntakePage = page(
  {
    zone: 'org-admin',
    adminOnly: PAGE_ADMIN_ONLY,
    name: 'resetWebhookIntakePage',
    method: 'post',
    path: '/admin/webhooks/reset',
    summary: 'Its "Reset" button: forget the intake\'s token (an empty integration_id names the public intake)',
    // Loose, as the form always was (stray fields ignored); but a repeated integration_id is refused, not read as the public intake.
    body: z.looseObject({ integration_id: z.string().optional() }),
    answer: 'html',
    audit: 'webhook_intake.reset',
  },
  async ({ body }, { req, res }, deps) => {
    const intakeId = await intakeIdFor(deps, body.integration_id ? body.integration_id : undefined);
    await resetIntake(deps, intakeId, { type: 'person', id: req.user!.id, label: req.user!.email }, req.ip ?? null);
    await renderIntakes(deps, res, 'The intake was reset: the next verification request from Notion will be kept.');
  },
);

export const INTAKE_ADMIN_PAGES: ReadonlyArray<Contract<'org-admin', IntakeAdminDeps>> = [webhooksPage, resetIntakePage];

export function webhookIntakeAdminRoutes(deps: IntakeAdminDeps, guards: ZoneGuards): Router {
  const router = Router();
  mountZone(router, 'org-admin', INTAKE_ADMIN_API, deps, guards);
  // Any other path under /notion-token: refused by the zone before the 404, as the operations are.
  router.use('/api/admin/v1/webhooks/notion-token', guards.api['org-admin']);
  mountZone(router, 'org-admin', INTAKE_ADMIN_PAGES, deps, guards);
  return router;
}
