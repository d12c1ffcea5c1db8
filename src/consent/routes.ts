/**
 * The consent screen over HTTP, as page contracts in the session-page zone
 * (./first-screen.ts, ./picker-routes.ts, ./approval-request-routes.ts),
 * mounted behind the application's one set of zone guards. Server-rendered,
 * every form works without JavaScript and carries the session's CSRF token
 * (checked before every zone).
 *
 * A refusal is answered with its status and the screen the person was on
 * (./screens.ts): the picker for the pages (none, too many, outside the
 * index, capabilities), the first screen for the workspace (membership,
 * policy, connection); only a request that is gone gets a page of its own.
 */
import { Router } from 'express';
import type { Contract } from '../http/contract.js';
import { mountZone, type ZoneGuards } from '../http/zones.js';
import { APPROVAL_REQUEST_PAGES } from './approval-request-routes.js';
import type { ConsentRoutesDeps } from './consent-context.js';
import { allowFromFirstScreen, cancelConsent, consentScreen, switchAccount } from './first-screen.js';
import { pickerChildren, pickerPage, postPicks } from './picker-routes.js';

export type { ConsentRoutesDeps } from './consent-context.js';

export const CONSENT_PAGES: ReadonlyArray<Contract<'session-page', ConsentRoutesDeps>> = [
  pickerChildren,
  consentScreen,
  cancelConsent,
  switchAccount,
  allowFromFirstScreen,
  pickerPage,
  postPicks,
];

/** `guards`: the application's one set of zone guards (src/app.ts). */
export function consentRoutes(deps: ConsentRoutesDeps, guards: ZoneGuards): Router {
  const router = Router();
  // The consent screen is never framed (CSP frame-ancestors 'none' comes from the app; this is for older browsers).
  router.use('/consent', (_req, res, next) => {
    res.setHeader('X-Frame-Options', 'DENY');
    next();
  });
  mountZone(router, 'session-page', CONSENT_PAGES, deps, guards);
  mountZone(router, 'session-page', APPROVAL_REQUEST_PAGES, deps, guards);
  return router;
}
