/**
 * A partner app's logo, public: the image fetched once at registration
 * (./logo.ts checked its type and first bytes), served by Gatehouse so that
 * pages load nothing from third parties.
 *
 *   GET /apps/:appId/logo
 */
import { Router } from 'express';
import { z } from 'zod';
import { contractsFor, type Contract } from '../http/contract.js';
import { notFound } from '../http/errors.js';
import { mountZone, type ZoneGuards } from '../http/zones.js';
import type { PartnerAppStore } from '../store/partner-apps.js';

interface LogoDeps {
  partnerApps: Pick<PartnerAppStore, 'logo'>;
}

const { page } = contractsFor<LogoDeps>();

export const appLogo = page(
  {
    zone: 'public',
    name: 'appLogo',
    method: 'get',
    path: '/apps/:appId/logo',
    summary: "A partner app's logo, as fetched at registration",
    params: z.object({ appId: z.string() }),
    answer: 'image',
    audit: { none: 'a public image' },
  },
  async ({ params }, { res }, deps) => {
    const logo = await deps.partnerApps.logo(params.appId);
    if (!logo) throw notFound('This app has no logo.');
    // The bytes came from elsewhere: never let a browser read them as anything but the checked image type.
    res.setHeader('Content-Type', logo.contentType);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Content-Security-Policy', "default-src 'none'");
    res.setHeader('Content-Disposition', 'inline; filename="logo"');
    // Logos are public and never change once fetched.
    res.setHeader('Cache-Control', 'public, max-age=3600');
    res.end(logo.bytes);
  },
);

export const LOGO_PAGES: ReadonlyArray<Contract<'public', LogoDeps>> = [appLogo];

/** `guards`: the application's one set of zone guards (src/app.ts). */
export function logoRoutes(deps: LogoDeps, guards: ZoneGuards): Router {
  const router = Router();
  mountZone(router, 'public', LOGO_PAGES, deps, guards);
  return router;
}
