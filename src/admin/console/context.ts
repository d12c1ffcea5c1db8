/**
 * What the connections console's handlers are given: the stores, the rules'
 * deps (../connections.ts, ../revocation.ts) and who is calling, as the rules
 * want it.
 */
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Clock } from '../../clock.js';
import type { Config } from '../../config.js';
import type { Keyring } from '../../crypto/keyring.js';
import type { Stores } from '../../store/stores.js';
import type { NotionUpstream } from '../../upstream/notion.js';
import type { PartnerUsage } from '../../upstream/rate-budget.js';
import { contractsFor } from '../../http/contract.js';
import { isOrganisationAdmin } from '../auth.js';
import type { Caller, ConsoleDeps } from '../connections.js';
import type { Actor, DisconnectDeps } from '../revocation.js';

export interface ConsoleRouteDeps {
  stores: Pick<
    Stores,
    | 'workspaces'
    | 'grants'
    | 'partnerApps'
    | 'people'
    | 'pageIndex'
    | 'audit'
    | 'tokens'
    | 'connections'
    | 'adminTokens'
    | 'internalIntegrations'
    | 'webhookSubscriptions'
    | 'agentPolicies'
  >;
  config: Pick<Config, 'adminEmails' | 'organisationName'>;
  clock: Clock;
  keyring: Keyring;
  upstream: NotionUpstream;
  logger: Logger;
  /** Each partner's grants from the workspace's Notion budget over the last hour; unset = not shown. */
  budgetUsage?: (workspaceId: string) => Promise<PartnerUsage[]>;
}

export interface ConsoleContext extends ConsoleRouteDeps {
  rules: ConsoleDeps;
  revocation: DisconnectDeps;
}

export function consoleContext(deps: ConsoleRouteDeps): ConsoleContext {
  const { stores } = deps;
  return {
    ...deps,
    rules: { ...stores, clock: deps.clock },
    revocation: {
      grants: stores.grants,
      tokens: stores.tokens,
      audit: stores.audit,
      clock: deps.clock,
      connections: stores.connections,
      keyring: deps.keyring,
      upstream: deps.upstream,
      internalIntegrations: stores.internalIntegrations,
      warn: (message, detail) => deps.logger.warn(detail, message),
    },
  };
}

export const { api, page } = contractsFor<ConsoleContext>();

/** Ids in paths and forms: Notion's and ours. */
export const ID = /^[A-Za-z0-9-]{1,64}$/;
export const id = z.string().regex(ID);
/** Path parameters, each an id. */
export const ids = <K extends string>(...names: K[]) => z.object(Object.fromEntries(names.map((n) => [n, id])) as Record<K, typeof id>);
/** A query value that is dropped, not refused, when it is not an id. */
export const optionalId = z.preprocess((v) => (typeof v === 'string' && ID.test(v) ? v : undefined), z.string().optional());

export function apiCaller(res: Response): Caller {
  return { person: res.locals.principal!.person, isOrganisationAdmin: res.locals.principal!.isOrganisationAdmin };
}

export function apiActor(req: Request, res: Response): Actor {
  const principal = res.locals.principal!;
  return {
    type: principal.via === 'session' ? 'person' : 'admin_token',
    id: principal.person?.id ?? null,
    label: principal.label,
    address: req.ip ?? null,
  };
}

export function pageCaller(req: Request, deps: ConsoleContext): Caller {
  return { person: req.user!, isOrganisationAdmin: isOrganisationAdmin(req.user!, deps.config.adminEmails) };
}

export function pageActor(req: Request): Actor {
  return { type: 'person', id: req.user!.id, label: req.user!.email, address: req.ip ?? null };
}
