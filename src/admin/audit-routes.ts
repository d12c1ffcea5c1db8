/**
 * The audit log: owners see the events of the workspaces
 * they own; organisation admins see everything, events without a workspace
 * included (sign-ins, partner app registrations, key rotation). Filters by
 * time, actor, partner, action and workspace; a JSON export.
 *
 *   GET /admin/audit                 the page (filters are a GET form, so it works without JavaScript)
 *   GET /admin/audit/export          the same filters, as a JSON download
 *   GET /api/admin/v1/audit          the same, for the API and `gatehouse audit export`
 *
 * A person who owns no workspace and is not an organisation admin is refused
 * (403); a workspace filter outside the caller's scope is 404, never an empty
 * answer that would confirm the workspace exists. Declared contracts
 * (../http/contract.ts): the API in the owner zone, the page and export in
 * the session-page zone; OpenAPI is generated from AUDIT_API (./openapi.ts).
 */
import type { ZoneGuards } from '../http/zones.js';
import { AUDIT_ACTIONS } from '../audit/actions.js';
import { Router, type Request } from 'express';
import { z } from 'zod';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { contractsFor, type Contract, type HandlerContext } from '../http/contract.js';
import { mountZone } from '../http/zones.js';
import { forbidden, notFound } from '../http/errors.js';
import { renderPage } from '../http/views.js';
import type { StoredAuditEvent } from '../store/audit.js';
import type { AuditSearch } from '../store/audit-query.js';
import type { Person } from '../store/people.js';
import type { Stores } from '../store/stores.js';
import { isOrganisationAdmin } from './auth.js';

export interface AuditRouteDeps {
  stores: Pick<Stores, 'auditQuery' | 'workspaces' | 'partnerApps' | 'adminTokens' | 'people'>;
  config: Pick<Config, 'adminEmails'>;
  clock: Clock;
}

const PAGE_SIZE = 100;
const EXPORT_MAX = 1000;

const isoDate = z
  .string()
  .max(40)
  .refine((s) => !Number.isNaN(Date.parse(s)), 'must be an ISO 8601 date and time');

/** Query parameters; unknown ones are refused, as everywhere in the admin API. */
export const auditFilterSchema = z
  .object({
    since: isoDate.optional().describe('ISO 8601; events at or after'),
    until: isoDate.optional().describe('ISO 8601; events before'),
    actor: z.string().max(320).optional().describe("A person's id or email, or an actor's label"),
    partner: z.string().max(200).optional().describe("A partner app's id or client id: events by it, about it, or about its grants"),
    action: z.string().max(100).optional().describe('resource.action, e.g. internal_integration.token_read'),
    workspace: z.string().max(100).optional().describe("A workspace id within the caller's scope"),
    before: z
      .string()
      .regex(/^\d{1,18}$/)
      .optional()
      .describe('Paging: events older than this event id'),
    limit: z.coerce.number().int().min(1).max(EXPORT_MAX).optional(),
  })
  .strict();

export const auditEventWireSchema = z.object({
  id: z.string(),
  action: z.string(),
  occurred_at: z.string(),
  actor: z.object({
    type: z.enum(['person', 'admin_token', 'partner', 'system']),
    id: z.string().nullable(),
    label: z.string().nullable(),
  }),
  target: z.object({ type: z.string(), id: z.string() }).nullable(),
  workspace_id: z.string().nullable(),
  address: z.string().nullable(),
  outcome: z.enum(['success', 'failure']),
  detail: z.record(z.string(), z.unknown()),
});

type AuditFilter = z.output<typeof auditFilterSchema>;

export function auditEventToWire(e: StoredAuditEvent) {
  return {
    id: e.id,
    action: e.action,
    occurred_at: e.occurredAt.toISOString(),
    actor: { type: e.actor.type, id: e.actor.id ?? null, label: e.actor.label ?? null },
    target: e.target ?? null,
    workspace_id: e.workspaceId ?? null,
    address: e.address ?? null,
    outcome: e.outcome,
    detail: e.detail ?? {},
  };
}

interface Scope {
  /** null = everything (organisation admins); owners: their workspaces. */
  scope: string[] | null;
  workspaces: Array<{ id: string; name: string }>;
}

/** The caller's scope, found once per request before its query is read: a caller with none is refused first (403). */
const scopes = new WeakMap<Request, Scope>();

async function scopeOf(deps: AuditRouteDeps, person: Person | null, organisationAdmin: boolean): Promise<Scope> {
  const { stores } = deps;
  if (organisationAdmin) return { scope: null, workspaces: (await stores.workspaces.listAll()).map((w) => ({ id: w.id, name: w.name })) };
  const owned = person ? (await stores.workspaces.listForPerson(person.id)).filter((w) => w.role === 'owner') : [];
  if (owned.length === 0) throw forbidden('The audit log is for workspace owners and organisation admins.');
  return { scope: owned.map((w) => w.id), workspaces: owned.map((w) => ({ id: w.id, name: w.name })) };
}

async function search(deps: AuditRouteDeps, filter: AuditFilter, scope: string[] | null, limit: number): Promise<StoredAuditEvent[]> {
  const { stores } = deps;
  if (filter.workspace !== undefined && scope !== null && !scope.includes(filter.workspace)) throw notFound('There is no such workspace.');
  let partnerAppId: string | undefined;
  if (filter.partner) {
    const app = (await stores.partnerApps.findById(filter.partner)) ?? (await stores.partnerApps.findByClientId(filter.partner));
    // An unknown partner matches nothing (a filter, not a lookup).
    partnerAppId = app?.id ?? '00000000-0000-0000-0000-000000000000';
  }
  let actor = filter.actor?.trim() || undefined;
  if (actor?.includes('@')) {
    const [person] = await stores.people.findByEmail(actor.toLowerCase());
    if (person) actor = person.id;
  }
  const query: AuditSearch = {
    scope,
    limit,
    partnerAppId,
    actor,
    action: filter.action?.trim() || undefined,
    workspaceId: filter.workspace || undefined,
    since: filter.since ? new Date(filter.since) : undefined,
    until: filter.until ? new Date(filter.until) : undefined,
    before: filter.before,
  };
  return stores.auditQuery.search(query);
}

/** Empty fields from the page's GET form mean "no filter". */
const withoutEmptyFields = (raw: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(raw).filter(([k, v]) => !(typeof v === 'string' && v.trim() === '' && k !== 'before')));

const { api, page } = contractsFor<AuditRouteDeps>();

const scoped = {
  query: auditFilterSchema,
  prepareQuery: withoutEmptyFields,
  audit: { none: 'a read of the audit log' },
} as const;

/** For the API: a session or an admin token, its holder's rights. */
const apiCaller = async ({ req, res }: HandlerContext, deps: AuditRouteDeps): Promise<void> => {
  const principal = res.locals.principal!;
  scopes.set(req, await scopeOf(deps, principal.person, principal.isOrganisationAdmin));
};

/** For the pages: the signed-in person. */
const pageCaller = async ({ req }: HandlerContext, deps: AuditRouteDeps): Promise<void> => {
  scopes.set(req, await scopeOf(deps, req.user!, isOrganisationAdmin(req.user!, deps.config.adminEmails)));
};

export const searchAudit = api(
  {
    zone: 'owner',
    name: 'searchAudit',
    method: 'get',
    path: '/api/admin/v1/audit',
    summary: "Audit events, newest first: owners see their workspaces' events, organisation admins everything",
    caller: apiCaller,
    ...scoped,
    answer: z.object({ object: z.literal('list'), events: z.array(auditEventWireSchema), next_before: z.string().nullable() }),
    refusals: { 400: 'Bad input', 404: 'No such workspace for this caller' },
  },
  async ({ query: filter }, { req }, deps) => {
    const { scope } = scopes.get(req)!;
    const limit = filter.limit ?? PAGE_SIZE;
    const events = await search(deps, filter, scope, limit);
    return {
      object: 'list' as const,
      events: events.map(auditEventToWire),
      next_before: events.length === limit ? events[events.length - 1]!.id : null,
    };
  },
);

export const auditPage = page(
  {
    zone: 'session-page',
    name: 'auditPage',
    method: 'get',
    path: '/admin/audit',
    summary: 'The audit log page (filters are a GET form, so it works without JavaScript)',
    caller: pageCaller,
    ...scoped,
    answer: 'html',
  },
  async ({ query: filter }, { req, res }, deps) => {
    const { scope, workspaces } = scopes.get(req)!;
    const events = await search(deps, filter, scope, filter.limit ?? PAGE_SIZE);
    const names = new Map(workspaces.map((w) => [w.id, w.name]));
    const exportQuery = new URLSearchParams(
      Object.entries(filter)
        .filter(([k, v]) => v !== undefined && k !== 'before')
        .map(([k, v]) => [k, String(v)]),
    ).toString();
    renderPage(res, 'audit', {
      title: 'Audit log',
      actions: Object.entries(AUDIT_ACTIONS).map(([action, spec]) => ({ action, actors: spec.actors.join(', '), summary: spec.summary })),
      scopeText: scope === null ? 'Every event (organisation admin).' : `Events of ${workspaces.map((w) => w.name).join(', ')}.`,
      filter: {
        since: filter.since ?? '',
        until: filter.until ?? '',
        actor: filter.actor ?? '',
        partner: filter.partner ?? '',
        action: filter.action ?? '',
        workspace: filter.workspace ?? '',
      },
      workspaces: workspaces.map((w) => ({ ...w, selected: w.id === filter.workspace })),
      events: events.map((e) => ({
        id: e.id,
        time: e.occurredAt.toISOString(),
        action: e.action,
        actor: e.actor.label ?? e.actor.id ?? e.actor.type,
        actorType: e.actor.type,
        target: e.target ? `${e.target.type} ${e.target.id}` : '',
        workspace: e.workspaceId ? (names.get(e.workspaceId) ?? e.workspaceId) : '',
        address: e.address ?? '',
        outcome: e.outcome,
      })),
      exportHref: `/admin/audit/export${exportQuery ? `?${exportQuery}` : ''}`,
      olderHref:
        events.length === (filter.limit ?? PAGE_SIZE)
          ? `/admin/audit?${new URLSearchParams({
              ...Object.fromEntries(
                Object.entries(filter)
                  .filter(([, v]) => v !== undefined)
                  .map(([k, v]) => [k, String(v)]),
              ),
              before: events[events.length - 1]!.id,
            }).toString()}`
          : null,
    });
  },
);

export const auditExport = page(
  {
    zone: 'session-page',
    name: 'auditExport',
    method: 'get',
    path: '/admin/audit/export',
    summary: 'The same filters, as a JSON download',
    caller: pageCaller,
    ...scoped,
    answer: 'html',
  },
  async ({ query: filter }, { req, res }, deps) => {
    const { scope } = scopes.get(req)!;
    const events = await search(deps, filter, scope, filter.limit ?? EXPORT_MAX);
    res.setHeader('Content-Disposition', `attachment; filename="gatehouse-audit-${deps.clock.now().toISOString().slice(0, 10)}.json"`);
    res.json({ object: 'list', exported_at: deps.clock.now().toISOString(), events: events.map(auditEventToWire) });
  },
);

export const AUDIT_API: ReadonlyArray<Contract<'owner', AuditRouteDeps>> = [searchAudit];
export const AUDIT_PAGES: ReadonlyArray<Contract<'session-page', AuditRouteDeps>> = [auditPage, auditExport];

export function auditRoutes(deps: AuditRouteDeps, guards: ZoneGuards): Router {
  const router = Router();
  mountZone(router, 'owner', AUDIT_API, deps, guards);
  mountZone(router, 'session-page', AUDIT_PAGES, deps, guards);
  return router;
}
