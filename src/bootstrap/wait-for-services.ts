/**
 * Start-up with PostgreSQL or Redis not there yet (a deployment where the
 * database comes up after Gatehouse): wait, saying once every few seconds
 * what is tried, while the port already answers `/healthz` (the process is
 * alive) and `/readyz` with 503 and why (it is not ready). Every other path
 * answers 503 with Retry-After.
 */
import type http from 'node:http';
import pg from 'pg';
import { createClient } from 'redis';
import type { Logger } from 'pino';

const LOG_EVERY_MS = 5_000;

export type ServiceState = Record<string, 'ok' | 'unreachable' | 'not configured' | 'waiting'>;

/** Where a service is, without its user name or password. */
export function describeTarget(url: string): string {
  const parsed = new URL(url);
  return `${parsed.protocol}//${parsed.host}${parsed.protocol.startsWith('postgres') ? parsed.pathname : ''}`;
}

function reasonOf(err: unknown): string {
  const e = err as { code?: string; message?: string };
  return e?.code ?? e?.message?.slice(0, 200) ?? String(err);
}

export async function waitUntilReachable(args: {
  name: string;
  url: string;
  probe: () => Promise<void>;
  logger: Logger;
  onState: (state: 'waiting' | 'ok') => void;
}): Promise<void> {
  const started = Date.now();
  let lastLog = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      await args.probe();
      if (attempt > 1) args.logger.info({ service: args.name, waitedMs: Date.now() - started }, `${args.name} reachable`);
      args.onState('ok');
      return;
    } catch (err) {
      args.onState('waiting');
      if (Date.now() - lastLog >= LOG_EVERY_MS) {
        lastLog = Date.now();
        args.logger.warn(
          { service: args.name, target: describeTarget(args.url), attempt, waitedMs: Date.now() - started, reason: reasonOf(err) },
          `waiting for ${args.name}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(250 * attempt, 2_000)));
    }
  }
}

export async function probePostgres(url: string, timeoutMs: number): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('select 1');
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function probeRedis(url: string, timeoutMs: number): Promise<void> {
  const client = createClient({ url, socket: { connectTimeout: timeoutMs, reconnectStrategy: false } });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
  } finally {
    if (client.isOpen) await client.quit().catch(() => client.destroy());
  }
}

/** Answers while the instance starts: alive, not ready. */
export function startingResponder(state: () => ServiceState): http.RequestListener {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    res.setHeader('content-type', 'application/json');
    if (path === '/healthz') {
      res.writeHead(200).end(JSON.stringify({ status: 'ok' }));
      return;
    }
    res.setHeader('retry-after', '5');
    if (path === '/readyz') {
      res.writeHead(503).end(JSON.stringify({ status: 'starting', checks: state() }));
      return;
    }
    res.writeHead(503).end(JSON.stringify({ error: { code: 'unavailable', message: 'Gatehouse is starting; try again shortly.' } }));
  };
}
