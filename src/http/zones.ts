/**
 * One router per trust zone: it applies the zone's authentication once, then
 * parses each contract's params, query and body and calls its handler. CSRF
 * for session-cookie writes is checked before every zone (./csrf.ts, mounted
 * once in src/app.ts), so a zone router only decides who the caller is.
 * A zone router takes the contracts of its zone only: mounting an
 * owner endpoint on the public zone does not type-check.
 */
import type { RequestHandler, Router } from 'express';
import type { Clock } from '../clock.js';
import { adminAuthentication, isOrganisationAdmin, requireOrganisationAdmin } from '../admin/auth.js';
import type { AdminTokenStore } from '../store/admin-tokens.js';
import type { PeopleStore } from '../store/people.js';
import { requireSignIn } from './auth-guards.js';
import type { Contract, Zone } from './contract.js';
import { forbidden } from './errors.js';
import { parseInput, parseParams } from './validation.js';

export interface ZoneGuardDeps {
  adminTokens: AdminTokenStore;
  people: PeopleStore;
  adminEmails: string[];
  clock: Clock;
}

/** Who a zone lets in, for JSON callers (session or admin token) and for pages (a signed-in browser). */
export function zoneGuards(deps: ZoneGuardDeps) {
  const principal = adminAuthentication(deps);
  const api: Record<Exclude<Zone, 'partner'>, RequestHandler[]> = {
    public: [],
    'session-page': [requireSignIn],
    owner: [principal],
    'org-admin': [principal, requireOrganisationAdmin],
  };
  const page = (zone: Exclude<Zone, 'partner'>, adminOnly = 'Only organisation admins can do that.'): RequestHandler[] => {
    if (zone === 'public') return [];
    if (zone !== 'org-admin') return [requireSignIn];
    const pageAdmin: RequestHandler = (req, _res, next) =>
      isOrganisationAdmin(req.user!, deps.adminEmails) ? next() : next(forbidden(adminOnly));
    return [requireSignIn, pageAdmin];
  };
  // principal: for routes not yet declared as contracts; they authenticate with the same guard.
  return { api, page, principal };
}

export type ZoneGuards = ReturnType<typeof zoneGuards>;

/** Mounts the contracts of one zone, each behind the zone's guard. */
export function mountZone<Z extends Exclude<Zone, 'partner'>, D>(
  router: Router,
  zone: Z,
  contracts: ReadonlyArray<Contract<NoInfer<Z>, D>>,
  deps: D,
  guards: ZoneGuards,
): void {
  for (const contract of contracts) {
    // The type says so already; this holds for contracts built at run time too.
    if (contract.zone !== zone) throw new Error(`${contract.name} belongs to the ${contract.zone} zone, not ${zone}`);
    const guard = contract.kind === 'api' ? guards.api[zone] : guards.page(zone, contract.adminOnly);
    const run: RequestHandler = async (req, res) => {
      await contract.caller?.({ req, res }, deps);
      const body = contract.body
        ? parseInput(contract.body, contract.bodyRequired ? req.body : (req.body ?? {}), contract.invalidBody)
        : {};
      const query = contract.query
        ? parseInput(contract.query, contract.prepareQuery ? contract.prepareQuery(req.query) : req.query, contract.invalidQuery)
        : {};
      const params = contract.params ? parseParams(contract.params, req.params) : {};
      const ctx = { req, res };
      if (contract.kind === 'page') {
        await contract.handler({ params, query, body }, ctx, deps);
        return;
      }
      if (contract.successStatus) res.status(contract.successStatus);
      res.json(await contract.handler({ params, query, body }, ctx, deps));
    };
    router[contract.method](contract.path, ...guard, run);
  }
}
