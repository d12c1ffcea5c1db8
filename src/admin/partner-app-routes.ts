/**
 * Partner apps over HTTP (HTTP only: parse, validate, call one rule, map the
 * result; the rules are in ./partner-apps.ts):
 *
 *   GET  /api/admin/v1/apps                           list (organisation admins)
 *   POST /api/admin/v1/apps                           register → 201, the secret once
 *   POST /api/admin/v1/apps/:client_id/rotate-secret  a new secret, once
 *   GET  /admin/apps                                  the page: list and "New partner app" form
 *   POST /admin/apps                                  the form (shows the secret once)
 *   POST /admin/apps/:clientId/rotate-secret          "Rotate secret"
 *
 * The API is declared as contracts (./partner-app-api.ts), authenticated by
 * the org-admin zone (session with CSRF, or a Bearer admin token); the page
 * and its forms are page contracts of the same zone (PARTNER_APP_PAGES), for
 * a signed-in organisation admin. The logo is public (./logo-routes.ts).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Router, type Response } from 'express';
import { z } from 'zod';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { contractsFor, type Contract, type HandlerContext } from '../http/contract.js';
import { renderPage } from '../http/views.js';
import { mountZone, type ZoneGuards } from '../http/zones.js';
import { CAPABILITY_LABELS, CONTENT_CAPABILITIES, USER_INFO_LEVELS } from '../oauth/capabilities.js';
import type { Stores } from '../store/stores.js';
import { PARTNER_APP_API } from './partner-app-api.js';
import { createLogoFetcher, type LogoFetcher } from './logo.js';
import {
  PartnerAppError,
  registerPartnerApp,
  rotateClientSecret,
  type Actor,
  type PartnerAppDeps,
  type RegistrationInput,
} from './partner-apps.js';

export interface PartnerAppRouteDeps {
  stores: Pick<Stores, 'partnerApps' | 'audit' | 'adminTokens' | 'people'>;
  config: Pick<Config, 'adminEmails' | 'publicUrl' | 'organisationName'>;
  clock: Clock;
  /** Tests may inject one; by default the network fetcher of ./logo.ts. */
  fetchLogo?: LogoFetcher;
}

const publicDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../public');

// ---------------------------------------------------------------------------
// The form

const optionalText = z.string().max(2000).optional().default('');

/** The page's form: strict, so a stray field is a 400 rather than silently ignored. */
const pageFormSchema = z
  .object({
    _csrf: z.string().optional(),
    name: z.string().max(1000),
    redirect_uris: z.string().max(25_000),
    capabilities: z.union([z.string(), z.array(z.string()).max(20)]).optional(),
    client_type: z.enum(['confidential', 'public']).default('confidential'),
    built_by_organisation: z.literal('on').optional(),
    logo_url: optionalText,
    website: optionalText,
    support_contact: optionalText,
  })
  .strict();

function listOf(value: string | string[] | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

interface FormValues {
  name: string;
  redirectUrisText: string;
  capabilities: string[];
  clientType: 'confidential' | 'public';
  builtByOrganisation: boolean;
  logoUrl: string;
  website: string;
  supportContact: string;
}

interface PageModel {
  form: FormValues;
  created: { name: string; clientId: string; clientSecret: string | null } | null;
  rotated: { name: string; clientId: string; clientSecret: string } | null;
  error: string | null;
}

function emptyForm(): FormValues {
  return {
    name: '',
    redirectUrisText: '',
    capabilities: ['no_user_info'],
    clientType: 'confidential',
    builtByOrganisation: false,
    logoUrl: '',
    website: '',
    supportContact: '',
  };
}

function formFromInput(input: RegistrationInput): FormValues {
  return {
    name: input.name,
    redirectUrisText: input.redirectUris.join('\n'),
    capabilities: input.capabilities,
    clientType: input.clientType,
    builtByOrganisation: input.builtByOrganisation,
    logoUrl: input.logoUrl ?? '',
    website: input.website ?? '',
    supportContact: input.supportContact ?? '',
  };
}

// ---------------------------------------------------------------------------
// The pages

/** What the page's handlers are given: the rules' deps, and the organisation's name for "Built by". */
export interface PartnerAppPageDeps {
  rules: PartnerAppDeps;
  organisationName: string;
}

const ADMIN_ONLY = 'Only organisation admins manage partner apps.';
const pageActor = ({ req }: HandlerContext): Actor => ({
  type: 'person',
  id: req.user!.id,
  label: req.user!.email,
  address: req.ip ?? null,
});

async function render(deps: PartnerAppPageDeps, res: Response, extra: Partial<PageModel> = {}, status = 200) {
  const apps = await deps.rules.partnerApps.listForAdmin();
  const form = extra.form ?? emptyForm();
  renderPage(
    res,
    'admin-apps',
    {
      title: 'Partner apps',
      organisationName: deps.organisationName,
      apps: apps.map((a) => ({
        id: a.id,
        name: a.name,
        clientId: a.clientId ?? '',
        clientType: a.clientType,
        integrationKind: a.integrationKind,
        capabilities: a.capabilities.map((c) => CAPABILITY_LABELS[c]).join(', '),
        redirectUris: a.redirectUris,
        builtByOrganisation: a.builtByOrganisation,
        logoUrl: a.hasLogo ? `/apps/${a.id}/logo` : null,
        website: a.website,
        supportContact: a.supportContact,
        canRotate: a.integrationKind === 'public' && a.clientType === 'confidential' && a.clientId !== null,
      })),
      contentCapabilities: CONTENT_CAPABILITIES.map((c) => ({
        value: c,
        label: CAPABILITY_LABELS[c],
        checked: form.capabilities.includes(c),
      })),
      userInfoLevels: USER_INFO_LEVELS.map((c) => ({ value: c, label: CAPABILITY_LABELS[c], checked: form.capabilities.includes(c) })),
      form,
      created: extra.created ?? null,
      rotated: extra.rotated ?? null,
      error: extra.error ?? null,
    },
    status,
  );
}

const { page } = contractsFor<PartnerAppPageDeps>();

export const partnerAppsPage = page(
  {
    zone: 'org-admin',
    adminOnly: ADMIN_ONLY,
    name: 'partnerAppsPage',
    method: 'get',
    path: '/admin/apps',
    summary: 'Every partner app, and the "New partner app" form',
    answer: 'html',
    audit: { none: 'a page' },
  },
  async (_input, { res }, deps) => render(deps, res),
);

export const registerPartnerAppPage = page(
  {
    zone: 'org-admin',
    adminOnly: ADMIN_ONLY,
    name: 'registerPartnerAppPage',
    method: 'post',
    path: '/admin/apps',
    summary: 'The "New partner app" form: 201 with the client secret shown once, or the form again with the reason (400)',
    body: pageFormSchema,
    bodyRequired: true,
    answer: 'html',
    audit: 'partner_app.created',
  },
  async ({ body: form }, ctx, deps) => {
    const input: RegistrationInput = {
      name: form.name,
      redirectUris: form.redirect_uris
        .split(/\r?\n/)
        .map((u) => u.trim())
        .filter(Boolean),
      capabilities: listOf(form.capabilities),
      clientType: form.client_type,
      builtByOrganisation: form.built_by_organisation === 'on',
      logoUrl: form.logo_url || null,
      website: form.website || null,
      supportContact: form.support_contact || null,
    };
    try {
      const { app, clientSecret } = await registerPartnerApp(deps.rules, input, pageActor(ctx));
      await render(deps, ctx.res, { created: { name: app.name, clientId: app.clientId!, clientSecret } }, 201);
    } catch (err) {
      if (!(err instanceof PartnerAppError)) throw err;
      await render(deps, ctx.res, { error: err.message, form: { ...formFromInput(input), redirectUrisText: form.redirect_uris } }, 400);
    }
  },
);

export const rotatePartnerAppSecretPage = page(
  {
    zone: 'org-admin',
    adminOnly: ADMIN_ONLY,
    name: 'rotatePartnerAppSecretPage',
    method: 'post',
    path: '/admin/apps/:clientId/rotate-secret',
    summary: '"Rotate secret": the new client secret shown once; the old one stops working at once',
    params: z.object({ clientId: z.string() }),
    answer: 'html',
    audit: 'partner_app.secret_rotated',
  },
  async ({ params }, ctx, deps) => {
    try {
      const { app, clientSecret } = await rotateClientSecret(deps.rules, params.clientId, pageActor(ctx));
      await render(deps, ctx.res, { rotated: { name: app.name, clientId: app.clientId!, clientSecret } });
    } catch (err) {
      if (!(err instanceof PartnerAppError)) throw err;
      await render(deps, ctx.res, { error: err.message }, err.code === 'unknown_client' ? 404 : 400);
    }
  },
);

export const PARTNER_APP_PAGES: ReadonlyArray<Contract<'org-admin', PartnerAppPageDeps>> = [
  partnerAppsPage,
  registerPartnerAppPage,
  rotatePartnerAppSecretPage,
];

export function partnerAppRoutes(deps: PartnerAppRouteDeps, guards: ZoneGuards): Router {
  const router = Router();
  const rules: PartnerAppDeps = {
    partnerApps: deps.stores.partnerApps,
    audit: deps.stores.audit,
    clock: deps.clock,
    fetchLogo: deps.fetchLogo ?? createLogoFetcher({ publicUrl: deps.config.publicUrl, publicDir }),
  };

  // ---- JSON API (./partner-app-api.ts) --------------------------------------
  mountZone(router, 'org-admin', PARTNER_APP_API, { rules }, guards);
  // Any other path under /apps: a stranger 401, anyone but an organisation admin 403, before a 404.
  router.use('/api/admin/v1/apps', guards.api['org-admin']);

  // ---- The pages ---------------------------------------------------------
  mountZone(router, 'org-admin', PARTNER_APP_PAGES, { rules, organisationName: deps.config.organisationName }, guards);

  return router;
}
