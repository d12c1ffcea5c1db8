/**
 * The test harness: a real Gatehouse on a real port, on PGlite or on this
 * machine's PostgreSQL (a schema of its own per instance) and Redis (a key
 * prefix of its own), with the sandbox OpenID provider and sandbox Notion in
 * process. Each test file owns its data and removes it at the end.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { loadConfig, type Tunables } from '../../src/config.js';
import { startGatehouse, type Gatehouse, type StartOptions } from '../../src/runtime.js';
import type { Clock } from '../../src/clock.js';
import type { DocumentFetchOptions } from '../../src/oauth/client-metadata-document.js';
import { deleteRedisPrefix, dropSchema, POSTGRES_URL, REDIS_URL, uniqueName } from './databases.js';

export { POSTGRES_URL, REDIS_URL, uniqueName };

export interface TestGatehouse {
  url: string;
  gatehouse: Gatehouse;
  dataDir: string;
  schema: string | null;
  redisPrefix: string | null;
  stop(): Promise<void>;
}

export interface HarnessOptions {
  database?: 'pglite' | 'postgres';
  redis?: boolean;
  env?: Record<string, string>;
  clock?: Clock;
  sandboxNotion?: StartOptions['sandboxNotion'];
  /** Reuse a data folder (restart tests). */
  dataDir?: string;
  /** Reuse a schema (two instances on one database). */
  schema?: string;
  /** PGlite persisted in the data folder instead of in memory. */
  persistPglite?: boolean;
  /** Reuse a Redis key prefix (two instances sharing Redis); its owner removes the keys. */
  redisPrefix?: string;
  /** Subscribe the sandbox Notion to the webhook intake, as the embedded default does at start. */
  sandboxWebhooks?: boolean;
  /** Overrides of config/defaults.json tunables (e.g. the upstream budget raised out of the way). */
  tunables?: Partial<Tunables>;
  /** Client ID Metadata Documents from a local https server: its CA, loopback allowed. */
  clientMetadataFetch?: DocumentFetchOptions;
}

export function testKeys(): Record<string, string> {
  return {
    GATEHOUSE_ENCRYPTION_KEYS: `test1:${randomBytes(32).toString('base64')}`,
    GATEHOUSE_SESSION_SECRET: randomBytes(32).toString('hex'),
  };
}

export async function listenOnFreePort(): Promise<{ server: http.Server; url: string }> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

export async function startTestGatehouse(options: HarnessOptions = {}): Promise<TestGatehouse> {
  const database = options.database ?? 'pglite';
  const { server, url } = await listenOnFreePort();
  const dataDir = options.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-test-'));
  const schema = database === 'postgres' ? (options.schema ?? uniqueName('t')) : null;
  const redisPrefix = options.redis ? (options.redisPrefix ?? `${uniqueName('test')}:`) : null;
  const env: Record<string, string> = {
    PORT: String((server.address() as AddressInfo).port),
    GATEHOUSE_PUBLIC_URL: url,
    GATEHOUSE_DATA_DIR: dataDir,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...(database === 'postgres' ? { DATABASE_URL: POSTGRES_URL, GATEHOUSE_SANDBOX: '1', ...testKeys() } : {}),
    ...(options.redis ? { REDIS_URL: REDIS_URL } : {}),
    ...options.env,
  };
  const config = loadConfig(env);
  if (options.tunables) config.tunables = { ...config.tunables, ...options.tunables };
  const gatehouse = await startGatehouse(config, {
    server,
    clock: options.clock,
    logger: pino({ level: env.LOG_LEVEL }),
    databaseSchema: schema ?? undefined,
    pgliteInMemory: database === 'pglite' && !options.persistPglite,
    redisPrefix: redisPrefix ?? undefined,
    sandboxNotion: options.sandboxNotion,
    periodicJobs: false,
    sandboxWebhooks: options.sandboxWebhooks ?? false,
    clientMetadataFetch: options.clientMetadataFetch,
  });
  return {
    url,
    gatehouse,
    dataDir,
    schema,
    redisPrefix,
    async stop() {
      await gatehouse.stop();
      if (schema && !options.schema) await dropSchema(schema);
      if (redisPrefix && !options.redisPrefix) await deleteRedisPrefix(redisPrefix);
      if (!options.dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
