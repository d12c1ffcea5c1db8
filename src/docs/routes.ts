/**
 * The partner developer guide, public (no sign-in):
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
import { notFound } from '../http/errors.js';
import { renderPage } from '../http/views.js';
import { loadGuide, type GuidePage } from './render.js';

const require = createRequire(import.meta.url);
const swaggerDir = path.dirname(require.resolve('swagger-ui-dist/package.json'));
/** Only what the viewer loads; the package's own index.html and initializer (inline-free but pointed at a demo API) stay out. */
const SWAGGER_FILES = new Set(['swagger-ui.css', 'swagger-ui-bundle.js']);

export function docsRoutes(guide: Map<string, GuidePage> = loadGuide()): Router {
  const router = Router();
  const contents = [...guide.values()].filter((p) => p.slug !== 'index').map((p) => ({ href: `/docs/${p.slug}`, title: p.title }));
  const show = (res: express.Response, page: GuidePage) =>
    renderPage(res, 'docs', { title: page.title, html: page.html, contents, current: page.slug });

  const assets = express.static(swaggerDir, { index: false, maxAge: '1h', fallthrough: false });
  router.use('/docs/assets', (req, res, next) => {
    if (!SWAGGER_FILES.has(req.path.slice(1))) return next(notFound('There is no such file.'));
    assets(req, res, next);
  });

  router.get('/docs', (_req, res, next) => {
    const index = guide.get('index');
    if (!index) return next(notFound('There is no guide here.'));
    show(res, index);
  });
  router.get('/docs/api', (_req, res) => {
    renderPage(res, 'docs-api', { title: 'Admin API reference', contents, current: 'api', openapiUrl: '/api/admin/v1/openapi.json' });
  });
  router.get('/docs/:guide', (req, res, next) => {
    const page = guide.get(req.params.guide);
    if (!page || page.slug === 'index') return next(notFound('There is no guide page with that name.'));
    show(res, page);
  });
  return router;
}
