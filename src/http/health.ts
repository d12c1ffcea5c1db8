/** Liveness, readiness and metrics: mounted before sessions so they answer while Redis is down. */
import { Router } from 'express';
import type { Registry } from 'prom-client';
import type { DatabaseHandle } from '../store/database.js';
import { withTimeout } from '../store/database.js';
import { constantTimeEqual } from '../crypto/tokens.js';

export interface RedisPing {
  ping(): Promise<unknown>;
}

export function healthRoutes(deps: {
  database: DatabaseHandle;
  redis: RedisPing | null;
  registry: Registry;
  metricsToken: string | null;
  metricsOpen: boolean;
  /** True once a shutdown began: not ready, whatever the checks say. */
  isDraining?: () => boolean;
}): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    if (deps.isDraining?.()) {
      res.status(503).json({ status: 'draining', checks: {} });
      return;
    }
    const check = (p: Promise<unknown>) =>
      withTimeout(p, 1500).then(
        () => 'ok',
        () => 'unreachable',
      );
    const [database, redis] = await Promise.all([
      check(deps.database.ping(1500)),
      deps.redis ? check(deps.redis.ping()) : Promise.resolve('not configured'),
    ]);
    const ready = database === 'ok' && (redis === 'ok' || redis === 'not configured');
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'unavailable', checks: { database, redis } });
  });
  router.get('/metrics', async (req, res) => {
    if (deps.metricsToken) {
      const presented = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
      if (!constantTimeEqual(presented, deps.metricsToken)) {
        res
          .status(401)
          .setHeader('WWW-Authenticate', 'Bearer')
          .json({ error: { code: 'unauthorized', message: 'Present the metrics token.' } });
        return;
      }
    } else if (!deps.metricsOpen) {
      // Production without GATEHOUSE_METRICS_TOKEN: metrics stay private.
      res.status(404).json({ error: { code: 'not_found', message: 'Not found.' } });
      return;
    }
    res.type(deps.registry.contentType).send(await deps.registry.metrics());
  });
  return router;
}
