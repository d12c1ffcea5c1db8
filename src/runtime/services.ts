/** Start-up and shutdown of the instance's HTTP server around its services (used by src/runtime.ts). */
import type http from 'node:http';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { probePostgres, startingResponder, waitUntilReachable, type ServiceState } from '../bootstrap/wait-for-services.js';
import { probeRedisSeeds, redisSeeds } from './redis.js';

/**
 * Listens at once and answers health checks ("starting") until PostgreSQL
 * and Redis answer; null when neither is configured (the embedded default).
 */
export async function waitForServices(config: Config, server: http.Server, logger: Logger): Promise<{ stopAnswering(): void } | null> {
  if (!config.databaseUrl && !config.redisUrl) return null;
  const services: ServiceState = {
    database: config.databaseUrl ? 'waiting' : 'ok',
    redis: config.redisUrl ? 'waiting' : 'not configured',
  };
  const starting = startingResponder(() => services);
  server.on('request', starting);
  if (!server.listening) {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, () => resolve());
    });
  }
  const timeoutMs = config.tunables.databaseTimeoutMs;
  await Promise.all([
    config.databaseUrl &&
      waitUntilReachable({
        name: 'PostgreSQL',
        url: config.databaseUrl,
        probe: () => probePostgres(config.databaseUrl!, timeoutMs),
        logger,
        onState: (s) => (services.database = s),
      }),
    config.redisUrl &&
      waitUntilReachable({
        name: config.redisCluster ? 'Redis Cluster' : 'Redis',
        url: redisSeeds(config.redisUrl!)[0]!,
        probe: () => probeRedisSeeds(config.redisUrl!, timeoutMs),
        logger,
        onState: (s) => (services.redis = s),
      }),
  ]);
  return { stopAnswering: () => server.off('request', starting) };
}

/**
 * oidc-provider warns on console at import (Node 20 is not its preferred
 * runtime) and about its in-memory adapter: expected for the sandbox, so the
 * warnings go to the debug log instead of the operator's terminal.
 */
export async function quietly<T>(logger: Logger, load: () => Promise<T>): Promise<T> {
  const original = console.warn;
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].includes('oidc-provider WARNING')) logger.debug(args[0]);
    else original(...args);
  };
  try {
    return await load();
  } finally {
    console.warn = original;
  }
}

/** Stops taking connections, lets requests in flight finish within `graceMs`, then cuts what is left. */
export async function closeServer(server: http.Server, graceMs: number): Promise<void> {
  if (!server.listening) return;
  await new Promise<void>((resolve) => {
    const force = setTimeout(() => server.closeAllConnections(), graceMs);
    force.unref();
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}
