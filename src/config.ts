/**
 * One schema over the environment (the README's "Settings")
 * and `config/defaults.json` (+ optional, untracked `config/local.json`).
 * A bad value stops start-up with one line naming the key and what is wrong,
 * never the value itself: values may be secrets.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

export class ConfigError extends Error {
  constructor(
    readonly key: string,
    readonly problem: string,
  ) {
    super(`${key}: ${problem}`);
    this.name = 'ConfigError';
  }
}

export interface EncryptionKey {
  id: string;
  key: Buffer;
}

export type IdentityProviderConfig = { mode: 'sandbox' } | { mode: 'real'; issuer: string; clientId: string; clientSecret: string };

export type NotionConfig = { mode: 'sandbox' } | { mode: 'real'; baseUrl: string; clientId: string; clientSecret: string };

const tunablesSchema = z
  .object({
    sessionIdleMinutes: z
      .number()
      .int()
      .min(1)
      .max(7 * 24 * 60),
    sessionAbsoluteHours: z
      .number()
      .int()
      .min(1)
      .max(24 * 30),
    pageIndexRefreshMinutes: z.number().int().min(1),
    membershipSyncMinutes: z.number().int().min(1),
    notionVersion: z.enum(['2022-06-28', '2025-09-03']),
    requestTimeoutMs: z.number().int().min(100),
    databaseTimeoutMs: z.number().int().min(100),
    // RFC 6749 §4.1.2: codes live at most 10 minutes.
    authorizationCodeLifetimeSeconds: z.number().int().min(10).max(600),
    accessTokenLifetimeSeconds: z
      .number()
      .int()
      .min(60)
      .max(24 * 3600),
    refreshTokenLifetimeDays: z.number().int().min(1).max(365),
    // A retry of a rotation whose answer was lost, within this many seconds, gets a fresh pair (0: strict rotation).
    refreshReuseGraceSeconds: z.number().int().min(0).max(60),
    clientAuthFailuresPerWindow: z.number().int().min(1),
    clientAuthFailureWindowSeconds: z.number().int().min(1),
    // Notion's request limit, per integration and workspace, shared by every partner there (Notion's documented request limits).
    upstreamRequestsPerSecond: z.number().positive(),
    upstreamBurst: z.number().int().min(1),
    // Longest a call queues for the budget before the partner gets 429 with Retry-After.
    upstreamMaxWaitMs: z.number().int().min(0).max(60_000),
    // How long Notion's webhook events are kept (for replays) before they are purged.
    webhookEventRetentionDays: z.number().int().min(1).max(365),
    // Share of the budget per partner app (its id, as `apps list` shows it → weight) while partners compete; unlisted apps weigh 1.
    upstreamPartnerWeights: z.record(z.string(), z.number().positive().max(1000)),
    // Partner webhook deliveries: the delay before each attempt (the first is usually 0), so its length is the attempt limit.
    webhookRetryScheduleSeconds: z
      .array(
        z
          .number()
          .min(0)
          .max(7 * 86_400),
      )
      .min(1)
      .max(30),
    // Up to this fraction of each delay is added at random, so retries of many deliveries spread out.
    webhookRetryJitter: z.number().min(0).max(1),
    webhookDeliveryTimeoutMs: z.number().int().min(100).max(60_000),
    // A subscription whose deliveries all failed for this long is disabled, with the reason shown to its admins.
    webhookDisableAfterFailingDays: z.number().positive().max(90),
    // What an MCP client is told to ask for first (the 401's scope): read-only unless an owner widens it.
    agentDefaultScope: z
      .string()
      .regex(/^[a-z_]+( [a-z_]+)*$/)
      .default('read_content read_comments user_info_without_email'),
    // RFC 7591 registrations accepted per client address within clientAuthFailureWindowSeconds.
    agentRegistrationsPerWindow: z.number().int().min(1).default(20),
  })
  .strict();
export type Tunables = z.infer<typeof tunablesSchema>;

export interface Config {
  port: number;
  publicUrl: string; // no trailing slash
  secureCookies: boolean; // public URL is https
  dataDir: string; // absolute
  databaseUrl: string | null;
  redisUrl: string | null;
  /** GATEHOUSE_REDIS_CLUSTER=1: REDIS_URL names one or more seed nodes (comma-separated) of a Redis Cluster. */
  redisCluster: boolean;
  /** Key prefix in Redis, so several deployments can share one server. */
  redisPrefix: string;
  embedded: boolean; // no DATABASE_URL: PGlite in the data folder
  sandboxAllowed: boolean;
  oidc: IdentityProviderConfig;
  notion: NotionConfig;
  /** null: generate into the data folder (embedded default only). First key encrypts new writes. */
  encryptionKeys: EncryptionKey[] | null;
  sessionSecret: string | null;
  adminEmails: string[];
  organisationName: string;
  trustProxy: boolean | number | string;
  metricsToken: string | null;
  /** SIGTERM: /readyz says 503 for this long before the port closes. */
  shutdownDrainSeconds: number;
  logLevel: string;
  tunables: Tunables;
}

type Env = Record<string, string | undefined>;

/** Empty strings count as unset, as they do for most shells' `VAR=`. */
function read(env: Env, key: string): string | undefined {
  const value = env[key];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/** One entry of GATEHOUSE_TRUST_PROXY's list: an express preset, an address, or an address/prefix. */
function isTrustedProxyItem(item: string): boolean {
  if (['loopback', 'linklocal', 'uniquelocal'].includes(item)) return true;
  const [address, prefix, ...rest] = item.split('/');
  const family = net.isIP(address ?? '');
  if (family === 0 || rest.length > 0) return false;
  return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128));
}

function parseUrl(key: string, value: string, protocols: string[]): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(key, 'is not a valid absolute URL');
  }
  if (!protocols.includes(url.protocol)) {
    throw new ConfigError(key, `must use ${protocols.map((p) => p.replace(':', '')).join(' or ')}`);
  }
  return url;
}

/** `GATEHOUSE_ENCRYPTION_KEYS`: comma-separated `id:base64key`, each key 32 bytes; the first encrypts new writes. */
export function parseEncryptionKeys(key: string, value: string): EncryptionKey[] {
  const keys = value
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const colon = part.indexOf(':');
      if (colon < 1) throw new ConfigError(key, 'each entry must look like id:base64key');
      const id = part.slice(0, colon);
      if (!/^[A-Za-z0-9_-]{1,32}$/.test(id)) throw new ConfigError(key, 'key ids use letters, digits, - and _ (at most 32)');
      const material = Buffer.from(part.slice(colon + 1), 'base64');
      if (material.length !== 32) throw new ConfigError(key, `key "${id}" must be 32 bytes, base64-encoded`);
      return { id, key: material };
    });
  if (keys.length === 0) throw new ConfigError(key, 'needs at least one key');
  if (new Set(keys.map((k) => k.id)).size !== keys.length) throw new ConfigError(key, 'key ids must be unique');
  return keys;
}

/** A triple of settings is all set or all unset; a half-configured provider is a mistake, not a sandbox. */
function readTriple(env: Env, keys: [string, string, string]): [string, string, string] | null {
  const values = keys.map((k) => read(env, k));
  const present = values.filter((v) => v !== undefined).length;
  if (present === 0) return null;
  if (present < 3) {
    const missing = keys.find((k, i) => values[i] === undefined)!;
    throw new ConfigError(missing, `must be set together with ${keys.filter((k) => k !== missing).join(' and ')}`);
  }
  return values as [string, string, string];
}

function loadTunables(configDir: string): Tunables {
  const files = ['defaults.json', 'local.json'].map((f) => path.join(configDir, f)).filter((f) => fs.existsSync(f));
  let merged: Record<string, unknown> = {};
  for (const file of files) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch {
      throw new ConfigError(`config/${path.basename(file)}`, 'is not valid JSON');
    }
    merged = { ...merged, ...(parsed as Record<string, unknown>) };
  }
  const result = tunablesSchema.safeParse(merged);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const where = issue.path.length ? issue.path.join('.') : ((issue as { keys?: string[] }).keys?.join(', ') ?? '?');
    throw new ConfigError(`config/${where}`, issue.message);
  }
  return result.data;
}

export const defaultConfigDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../config');

export function loadConfig(env: Env = process.env, options: { configDir?: string; cwd?: string } = {}): Config {
  const cwd = options.cwd ?? process.cwd();
  const portText = read(env, 'PORT') ?? '3000';
  if (!/^\d+$/.test(portText) || Number(portText) > 65535) throw new ConfigError('PORT', 'must be a port number (0-65535)');
  const port = Number(portText);

  const publicUrlText = read(env, 'GATEHOUSE_PUBLIC_URL') ?? `http://localhost:${port}`;
  const publicUrl = parseUrl('GATEHOUSE_PUBLIC_URL', publicUrlText, ['http:', 'https:']);
  if (publicUrl.search || publicUrl.hash) throw new ConfigError('GATEHOUSE_PUBLIC_URL', 'must not carry a query or fragment');

  const databaseUrl = read(env, 'DATABASE_URL') ?? null;
  if (databaseUrl && !parseUrl('DATABASE_URL', databaseUrl, ['postgres:', 'postgresql:']).username)
    throw new ConfigError('DATABASE_URL', 'must name the database user (postgres://user@host/database)');
  const redisUrl = read(env, 'REDIS_URL') ?? null;
  const clusterFlag = read(env, 'GATEHOUSE_REDIS_CLUSTER');
  if (clusterFlag !== undefined && clusterFlag !== '1' && clusterFlag !== '0')
    throw new ConfigError('GATEHOUSE_REDIS_CLUSTER', 'must be 1, 0 or unset');
  const redisCluster = clusterFlag === '1';
  if (redisCluster && !redisUrl) throw new ConfigError('REDIS_URL', 'must name the cluster seed nodes when GATEHOUSE_REDIS_CLUSTER=1');
  // A cluster client discovers every node from any one seed; several seeds let it start while one is down.
  const redisSeeds = redisUrl ? redisUrl.split(',').map((part) => part.trim()) : [];
  if (redisSeeds.length > 1 && !redisCluster)
    throw new ConfigError('REDIS_URL', 'names several servers: set GATEHOUSE_REDIS_CLUSTER=1 for a Redis Cluster, else give one URL');
  for (const seed of redisSeeds) parseUrl('REDIS_URL', seed, ['redis:', 'rediss:']);

  const redisPrefix = read(env, 'GATEHOUSE_REDIS_PREFIX') ?? 'gatehouse:';
  if (!/^[A-Za-z0-9:_-]{1,64}$/.test(redisPrefix))
    throw new ConfigError('GATEHOUSE_REDIS_PREFIX', 'use letters, digits, ":", "_" and "-" (at most 64)');

  const sandboxFlag = read(env, 'GATEHOUSE_SANDBOX');
  if (sandboxFlag !== undefined && sandboxFlag !== '1' && sandboxFlag !== '0')
    throw new ConfigError('GATEHOUSE_SANDBOX', 'must be 1 or unset');
  const embedded = databaseUrl === null;
  // Sandboxes are never live by accident: not beside a real database, and not in a production image, unless asked for.
  const production = read(env, 'NODE_ENV') === 'production';
  const sandboxAllowed = (embedded && !production) || sandboxFlag === '1';

  const oidcTriple = readTriple(env, ['GATEHOUSE_OIDC_ISSUER', 'GATEHOUSE_OIDC_CLIENT_ID', 'GATEHOUSE_OIDC_CLIENT_SECRET']);
  let oidc: IdentityProviderConfig;
  if (oidcTriple) {
    parseUrl('GATEHOUSE_OIDC_ISSUER', oidcTriple[0], ['https:', 'http:']);
    oidc = { mode: 'real', issuer: oidcTriple[0], clientId: oidcTriple[1], clientSecret: oidcTriple[2] };
  } else if (sandboxAllowed) {
    oidc = { mode: 'sandbox' };
  } else {
    throw new ConfigError(
      'GATEHOUSE_OIDC_ISSUER',
      `is required ${embedded ? 'with NODE_ENV=production' : 'with DATABASE_URL'} (with _OIDC_CLIENT_ID and _OIDC_CLIENT_SECRET), or set GATEHOUSE_SANDBOX=1 to use the sandbox provider`,
    );
  }

  const notionTriple = readTriple(env, ['GATEHOUSE_NOTION_BASE_URL', 'GATEHOUSE_NOTION_CLIENT_ID', 'GATEHOUSE_NOTION_CLIENT_SECRET']);
  let notion: NotionConfig;
  if (notionTriple) {
    parseUrl('GATEHOUSE_NOTION_BASE_URL', notionTriple[0], ['https:', 'http:']);
    notion = { mode: 'real', baseUrl: notionTriple[0].replace(/\/+$/, ''), clientId: notionTriple[1], clientSecret: notionTriple[2] };
  } else if (sandboxAllowed) {
    notion = { mode: 'sandbox' };
  } else {
    throw new ConfigError(
      'GATEHOUSE_NOTION_BASE_URL',
      `is required ${embedded ? 'with NODE_ENV=production' : 'with DATABASE_URL'} (with _NOTION_CLIENT_ID and _NOTION_CLIENT_SECRET), or set GATEHOUSE_SANDBOX=1 to use the sandbox Notion`,
    );
  }

  const keysText = read(env, 'GATEHOUSE_ENCRYPTION_KEYS');
  const encryptionKeys = keysText ? parseEncryptionKeys('GATEHOUSE_ENCRYPTION_KEYS', keysText) : null;
  const sessionSecret = read(env, 'GATEHOUSE_SESSION_SECRET') ?? null;
  if (sessionSecret !== null && sessionSecret.length < 32)
    throw new ConfigError('GATEHOUSE_SESSION_SECRET', 'must be at least 32 characters');
  if (!embedded) {
    // Generated secrets are for the single-process demo only: instances must share them.
    if (!encryptionKeys) throw new ConfigError('GATEHOUSE_ENCRYPTION_KEYS', 'is required when DATABASE_URL is set');
    if (!sessionSecret) throw new ConfigError('GATEHOUSE_SESSION_SECRET', 'is required when DATABASE_URL is set');
  }

  // Ada is the demo's organisation admin only where the demo's sandbox sign-in runs.
  const adminEmailsText = read(env, 'GATEHOUSE_ADMIN_EMAILS') ?? (embedded && oidc.mode === 'sandbox' ? 'ada@example.com' : '');
  const adminEmails = adminEmailsText
    .split(',')
    .map((e) => e.trim().toLowerCase())
    .filter(Boolean);
  for (const email of adminEmails) {
    if (!z.email().safeParse(email).success)
      throw new ConfigError('GATEHOUSE_ADMIN_EMAILS', 'must be a comma-separated list of email addresses');
  }

  const trustProxyText = read(env, 'GATEHOUSE_TRUST_PROXY');
  let trustProxy: boolean | number | string = false;
  if (trustProxyText !== undefined) {
    if (/^(0|false|off|no)$/i.test(trustProxyText)) trustProxy = false;
    else if (/^(1|true|on|yes)$/i.test(trustProxyText))
      trustProxy = 1; // one hop: the load balancer in front
    else if (/^\d+$/.test(trustProxyText)) trustProxy = Number(trustProxyText);
    else if (trustProxyText.split(',').every((item) => isTrustedProxyItem(item.trim())))
      trustProxy = trustProxyText; // addresses or express presets
    else throw new ConfigError('GATEHOUSE_TRUST_PROXY', 'must be on/off, a hop count, or addresses/subnets');
  }

  const logLevel = read(env, 'LOG_LEVEL') ?? 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel))
    throw new ConfigError('LOG_LEVEL', 'must be one of fatal, error, warn, info, debug, trace, silent');

  const metricsToken = read(env, 'GATEHOUSE_METRICS_TOKEN') ?? null;

  // On SIGTERM, how long /readyz answers 503 while requests are still served, so a load balancer
  // stops sending before the port closes. One process of the embedded default has no balancer to tell.
  const drainText = read(env, 'GATEHOUSE_SHUTDOWN_DRAIN_SECONDS') ?? (embedded ? '0' : '5');
  if (!/^\d{1,3}$/.test(drainText) || Number(drainText) > 300)
    throw new ConfigError('GATEHOUSE_SHUTDOWN_DRAIN_SECONDS', 'must be a whole number of seconds (0-300)');

  return {
    port,
    publicUrl: publicUrl.toString().replace(/\/+$/, ''),
    secureCookies: publicUrl.protocol === 'https:',
    dataDir: path.resolve(cwd, read(env, 'GATEHOUSE_DATA_DIR') ?? './data'),
    databaseUrl,
    redisUrl,
    redisCluster,
    redisPrefix,
    embedded,
    sandboxAllowed,
    oidc,
    notion,
    encryptionKeys,
    sessionSecret,
    adminEmails,
    organisationName: read(env, 'GATEHOUSE_ORGANISATION_NAME') ?? 'Gatehouse demo',
    trustProxy,
    metricsToken,
    shutdownDrainSeconds: Number(drainText),
    logLevel,
    tunables: loadTunables(options.configDir ?? defaultConfigDir),
  };
}

/** The one start-up line: which parts are real or sandbox, and where to go. */
export function describeParts(config: Config): string {
  const database = config.embedded ? 'embedded PGlite' : 'PostgreSQL';
  const sessions = config.redisUrl ? 'Redis' : 'database';
  const idp = config.oidc.mode === 'real' ? `OpenID provider ${new URL(config.oidc.issuer).host}` : 'sandbox OpenID provider';
  const notion = config.notion.mode === 'real' ? `Notion at ${new URL(config.notion.baseUrl).host}` : 'sandbox Notion';
  return `Gatehouse ready: database=${database}, sessions=${sessions}, identity=${idp}, notion=${notion}; open ${config.publicUrl}/`;
}
