/**
 * The one Redis connection of an instance: a single server (`createClient`)
 * or a Redis Cluster (`createCluster`, GATEHOUSE_REDIS_CLUSTER=1), behind the
 * few calls Gatehouse makes. Every multi-key call (the budget's script, the
 * ancestry cache's MGET) uses keys that share one hash tag, so a cluster
 * keeps them on one node; raw commands are routed here by their first key.
 */
import { RedisStore } from 'connect-redis';
import { createClient, createCluster } from 'redis';
import type { Logger } from 'pino';
import type { RedisCommander } from '../upstream/rate-budget.js';
import type { RedisLike } from '../proxy/scope.js';
import { probeRedis } from '../bootstrap/wait-for-services.js';

export interface RedisHandle {
  /** Raw commands (scripts, SET NX PX, HGETALL). */
  commander: RedisCommander;
  /** The ancestry cache's calls. */
  cache: RedisLike;
  ping(): Promise<unknown>;
  /** connect-redis over this connection, keys under `prefix`. */
  sessionStore(prefix: string, ttlSeconds: number): RedisStore;
  close(): Promise<void>;
}

export interface RedisSettings {
  url: string;
  cluster: boolean;
}

/** The seed URLs: one for a single server, one or more (comma-separated) for a cluster. */
export function redisSeeds(url: string): string[] {
  return url
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
}

/** Reachable when any seed answers PING (a cluster client needs only one to learn the rest). */
export async function probeRedisSeeds(url: string, timeoutMs: number): Promise<void> {
  let last: unknown;
  for (const seed of redisSeeds(url)) {
    try {
      return await probeRedis(seed, timeoutMs);
    } catch (err) {
      last = err;
    }
  }
  throw last;
}

/** The key a raw command touches first: a cluster sends the command to the node owning its slot. */
export function firstKeyOf(args: string[]): string | undefined {
  const command = args[0]?.toUpperCase();
  if (command === 'EVAL' || command === 'EVALSHA' || command === 'EVAL_RO' || command === 'EVALSHA_RO')
    return Number(args[2]) > 0 ? args[3] : undefined;
  return args[1];
}

// While disconnected, fail commands at once instead of queueing them: pages answer 503, never hang.
const socket = { connectTimeout: 2000, reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 2000) };

export async function connectRedis(settings: RedisSettings, logger: Logger): Promise<RedisHandle> {
  // An unheard 'error' event would kill the process; node-redis reconnects by itself.
  // Once every few seconds: a Redis that stays away must not flood the log with one line per reconnect.
  let lastError = 0;
  const onError = (err: Error) => {
    if (Date.now() - lastError < 5_000) return;
    lastError = Date.now();
    logger.warn({ err: err.message }, 'redis error');
  };
  return settings.cluster ? connectCluster(redisSeeds(settings.url), onError, logger) : connectSingle(settings.url, onError, logger);
}

async function connectSingle(url: string, onError: (err: Error) => void, logger: Logger): Promise<RedisHandle> {
  const client = createClient({ url, disableOfflineQueue: true, socket });
  client.on('error', onError);
  await client
    .connect()
    .catch((err: Error) => logger.warn({ err: err.message }, 'redis not reachable at start; retrying in the background'));
  return {
    commander: { sendCommand: (args) => client.sendCommand(args) },
    cache: {
      mGet: (keys) => client.mGet(keys),
      setPx: (key, value, ms) => client.set(key, value, { expiration: { type: 'PX', value: ms } }),
    },
    ping: () => client.ping(),
    sessionStore: (prefix, ttl) => new RedisStore({ client, prefix, ttl }),
    async close() {
      if (client.isOpen) await client.quit().catch(() => client.destroy());
    },
  };
}

async function connectCluster(seeds: string[], onError: (err: Error) => void, logger: Logger): Promise<RedisHandle> {
  // Discovered nodes take their settings from `defaults` only: credentials and TLS come from the first seed.
  const first = new URL(seeds[0]!);
  const cluster = createCluster({
    rootNodes: seeds.map((url) => ({ url })),
    defaults: {
      ...(first.username ? { username: decodeURIComponent(first.username) } : {}),
      ...(first.password ? { password: decodeURIComponent(first.password) } : {}),
      disableOfflineQueue: true,
      socket: first.protocol === 'rediss:' ? { ...socket, tls: true } : socket,
    },
  });
  cluster.on('error', onError);
  cluster.on('node-error', onError);
  let closed = false;
  // Unlike one client, a cluster that found no seed does not retry on its own.
  const connect = async (): Promise<void> => {
    try {
      await cluster.connect();
    } catch (err) {
      if (closed) return;
      logger.warn({ err: (err as Error).message }, 'redis cluster not reachable at start; retrying in the background');
      setTimeout(() => void connect(), 2000).unref();
    }
  };
  await connect();
  return {
    commander: { sendCommand: (args) => cluster.sendCommand(firstKeyOf(args), false, args) },
    cache: {
      mGet: (keys) => cluster.mGet(keys),
      setPx: (key, value, ms) => cluster.set(key, value, { expiration: { type: 'PX', value: ms } }),
    },
    ping: () => cluster.sendCommand(undefined, true, ['PING']),
    sessionStore: (prefix, ttl) => new RedisStore({ client: cluster, prefix, ttl }),
    async close() {
      closed = true;
      if (cluster.isOpen) await cluster.close().catch(() => cluster.destroy());
    },
  };
}
