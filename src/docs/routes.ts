/**
 * The partner developer guide, public (no sign-in), as page contracts:
 *
 *   GET /docs                 docs/partners/index.md, with the list of guides
 *   GET /docs/api             the admin API's OpenAPI document in Swagger UI
 *   GET /docs/assets/<file>   Swagger UI's own files, served from its package (no CDN)
 *   GET /docs/:guide          docs/partners/<guide>.md
 *
 * Swagger UI runs under the strict CSP: its bundle and stylesheet are
 * same-origin files and its start-up lives in public/docs-api.js, not an
 * inline script.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import express, { Router } from 'express';
import { z } from 'zod';
import { contractsFor, type Contract } from '../http/contract.js';
import { notFound } from '../http/errors.js';
import { renderPage } from '../http/views.js';
import { mountZone, type ZoneGuards } from '../http/zones.js';
import { loadGuide, type GuidePage } from './render.js';

const require = createRequire(import.meta.url);
const swaggerDir = path.dirname(require.resolve('swagger-ui-dist/package.json'));
/** Only what the viewer loads; the package's own index.html and initializer (inline-free but pointed at a demo API) stay out. */
const SWAGGER_FILES = new Set(['swagger-ui.css', 'swagger-ui-bundle.js']);

interface DocsContext {
  guide: Map<string, GuidePage>;
  contents: Array<{ href: string; title: string }>;
}

const { page } = contractsFor<DocsContext>();

const show = (res: express.Response, ctx: DocsContext, guidePage: GuidePage) =>
  renderPage(res, 'docs', { title: guidePage.title, html: guidePage.html, contents: ctx.contents, current: guidePage.slug });

const guidePage = { zone: 'public', method: 'get', answer: 'html', audit: { none: 'a page' } } as const;

export const DOCS_PAGES: ReadonlyArray<Contract<'public', DocsContext>> = [
  page({ ...guidePage, name: 'docsIndex', path: '/docs', summary: 'The partner developer guide' }, async (_input, { res }, ctx) => {
    const index = ctx.guide.get('index');
    if (!index) throw notFound('There is no guide here.');
    show(res, ctx, index);
  }),
  page(
    { ...guidePage, name: 'docsApi', path: '/docs/api', summary: "The admin API's OpenAPI document in Swagger UI" },
    async (_input, { res }, ctx) => {
      renderPage(res, 'docs-api', {
        title: 'Admin API reference',
        contents: ctx.contents,
        current: 'api',
        openapiUrl: '/api/admin/v1/openapi.json',
      });
    },
  ),
  page(
    { ...guidePage, name: 'docsGuide', path: '/docs/:guide', summary: 'One page of the guide', params: z.object({ guide: z.string() }) },
    async ({ params }, { res }, ctx) => {
      const found = ctx.guide.get(params.guide);
      if (!found || found.slug === 'index') throw notFound('There is no guide page with that name.');
      show(res, ctx, found);
    },
  ),
];

/** `guards`: the application's one set of zone guards (src/app.ts); the public zone has none, but every zone is mounted the same way. */
export function docsRoutes(guards: ZoneGuards, guide: Map<string, GuidePage> = loadGuide()): Router {
  const router = Router();
  const contents = [...guide.values()].filter((p) => p.slug !== 'index').map((p) => ({ href: `/docs/${p.slug}`, title: p.title }));

  const assets = express.static(swaggerDir, { index: false, maxAge: '1h', fallthrough: false });
  router.use('/docs/assets', (req, res, next) => {
    if (!SWAGGER_FILES.has(req.path.slice(1))) return next(notFound('There is no such file.'));
    assets(req, res, next);
  });
  mountZone(router, 'public', DOCS_PAGES, { guide, contents }, guards);
  return router;
}
