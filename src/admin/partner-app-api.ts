/**
 * The partner apps' admin API as declared contracts (../http/contract.ts),
 * organisation admins only; the rules are in ./partner-apps.ts, the page in
 * ./partner-app-routes.ts. The OpenAPI document is generated from
 * PARTNER_APP_API (./openapi.ts).
 */
import type { Request } from 'express';
import { z } from 'zod';
import { contractsFor, type Contract } from '../http/contract.js';
import type { AdminPrincipal } from './auth.js';
import { partnerAppWireSchema, rotatedSecretSchema } from './partner-app-wire.js';
import {
  partnerAppToWire,
  registerPartnerApp,
  registrationBodySchema,
  registrationInputFromBody,
  rotateClientSecret,
  type Actor,
  type PartnerAppDeps,
} from './partner-apps.js';

/** What the API's handlers are given: the rules' deps. */
export interface PartnerAppApiDeps {
  rules: PartnerAppDeps;
}

export function actorFromPrincipal(principal: AdminPrincipal, req: Request): Actor {
  return {
    type: principal.via === 'session' ? 'person' : 'admin_token',
    id: principal.person?.id ?? null,
    label: principal.label,
    address: req.ip ?? null,
  };
}

const { api } = contractsFor<PartnerAppApiDeps>();
const V1 = '/api/admin/v1';

export const listPartnerApps = api(
  {
    zone: 'org-admin',
    name: 'listPartnerApps',
    method: 'get',
    path: `${V1}/apps`,
    summary: 'Every partner app (organisation admins); never secrets or their hashes',
    answer: z.object({ object: z.literal('list'), apps: z.array(partnerAppWireSchema) }),
    audit: { none: 'a read' },
  },
  async (_input, _ctx, deps) => {
    const apps = await deps.rules.partnerApps.listForAdmin();
    return { object: 'list' as const, apps: apps.map((a) => partnerAppToWire(a)) };
  },
);

export const registerPartnerAppOperation = api(
  {
    zone: 'org-admin',
    name: 'registerPartnerApp',
    method: 'post',
    path: `${V1}/apps`,
    summary: 'Register a partner app (organisation admins); a confidential client gets its secret in this answer only',
    body: registrationBodySchema,
    bodyRequired: true,
    answer: partnerAppWireSchema,
    successStatus: 201,
    components: { body: 'NewPartnerApp', answer: 'PartnerApp' },
    audit: 'partner_app.created',
    refusals: { 400: 'Bad input (nothing stored), including a refused logo' },
  },
  async ({ body }, { req, res }, deps) => {
    const { app, clientSecret } = await registerPartnerApp(
      deps.rules,
      registrationInputFromBody(body),
      actorFromPrincipal(res.locals.principal!, req),
    );
    return partnerAppToWire(app, clientSecret);
  },
);

export const rotatePartnerAppSecret = api(
  {
    zone: 'org-admin',
    name: 'rotatePartnerAppSecret',
    method: 'post',
    path: `${V1}/apps/:client_id/rotate-secret`,
    summary: "Replace a confidential client's secret (organisation admins); the old one stops working at once",
    params: z.object({ client_id: z.string() }),
    body: z.object({}).strict(),
    invalidBody: 'This request takes no body fields.',
    answer: rotatedSecretSchema,
    components: { answer: 'RotatedSecret' },
    audit: 'partner_app.secret_rotated',
    refusals: { 400: 'A public client has no secret', 404: 'No app with this client id' },
  },
  async ({ params }, { req, res }, deps) => {
    const { app, clientSecret } = await rotateClientSecret(deps.rules, params.client_id, actorFromPrincipal(res.locals.principal!, req));
    return { client_id: app.clientId!, client_secret: clientSecret };
  },
);

export const PARTNER_APP_API: ReadonlyArray<Contract<'org-admin', PartnerAppApiDeps>> = [
  listPartnerApps,
  registerPartnerAppOperation,
  rotatePartnerAppSecret,
];
