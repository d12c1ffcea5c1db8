/**
 * The Notion API subset Gatehouse uses, on Notion's wire format. Each route:
 * parse, check capability, check reach, call one rule, answer. The checks run
 * in Notion's order: version (400), token (401), rate limit (429), capability
 * (403), reach (404).
 */
import { Router } from 'express';
import type { NextFunction, Request, Response } from 'express';
import { authenticateBearer } from './grants.js';
import { invalidRequestUrl, NotionApiError, unauthorized, validationError } from './errors.js';
import { NOTION_VERSIONS } from './serialize.js';
import type { NotionVersion } from './serialize.js';
import type { ApiDeps, Call } from './api-call.js';
import { blockRoutes } from './api-blocks.js';
import { commentRoutes } from './api-comments.js';
import { databaseRoutes } from './api-databases.js';
import { pageRoutes } from './api-pages.js';
import { userAndSearchRoutes } from './api-users.js';

export type { ApiDeps } from './api-call.js';

export function apiRouter(deps: ApiDeps): Router {
  const router = Router();
  const { state } = deps.store;

  router.use((req: Request, res: Response, next: NextFunction) => {
    deps.countApiCall();
    const version = req.get('Notion-Version');
    if (version === undefined)
      throw new NotionApiError(
        400,
        'missing_version',
        'Notion-Version header failed validation: Notion-Version header should be defined, instead was `undefined`.',
      );
    if (!(NOTION_VERSIONS as readonly string[]).includes(version))
      throw validationError(
        `Notion-Version header failed validation: Notion-Version header should be one of ${NOTION_VERSIONS.map((v) => `"${v}"`).join(', ')}, instead was \`"${version}"\`.`,
      );
    const match = /^Bearer\s+(\S+)$/i.exec(req.get('Authorization') ?? '');
    if (!match) throw unauthorized();
    const now = deps.clock();
    const integration = authenticateBearer(state, match[1], now);
    const verdict = deps.limiter.take(`${integration.clientId ?? integration.botId}:${integration.workspaceId}`, now);
    if (!verdict.allowed)
      throw new NotionApiError(429, 'rate_limited', 'You have been rate limited. Please try again in a few minutes.', {
        'Retry-After': String(verdict.retryAfterSeconds),
      });
    const context: Call = { view: { state, publicUrl: deps.publicUrl, version: version as NotionVersion }, integration, now };
    res.locals.sandboxNotionCall = context;
    next();
  });

  // One module per Notion resource.
  userAndSearchRoutes(router, deps);
  pageRoutes(router, deps);
  blockRoutes(router, deps);
  databaseRoutes(router, deps);
  commentRoutes(router, deps);

  // Unknown endpoints answer as Notion does.
  router.use(() => {
    throw invalidRequestUrl();
  });

  return router;
}
