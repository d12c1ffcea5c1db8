/** What the bench parts share: where PostgreSQL and Redis are, free ports, CPU time from /proc, a fixed-concurrency load loop, child processes. */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fs from 'node:fs';
import path from 'node:path';

export const POSTGRES = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
export const COUNT = Number(process.env.BENCH_COUNT ?? 2000);
export const LATENCY_COUNT = Number(process.env.BENCH_LATENCY_COUNT ?? 500);

/**
 * Gatehouse's rate budget raised out of the way of a bench (BENCH_TUNABLES): a rate no run reaches, and a burst
 * that is large but not huge. The budget's script reads the taken slots within the burst behind now, so a burst
 * of a billion would make it read every slot the run has taken, a cost no real setting has.
 */
export const BUDGET_OUT_OF_THE_WAY = { upstreamRequestsPerSecond: 1_000_000_000, upstreamBurst: 1000 } as const;

export interface Result {
  name: string;
  perSecond: number;
  p50: number;
  p99: number;
}

export async function freePort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  await new Promise((r) => server.close(r));
  return port;
}

/** CPU time (user + system) a child process has used so far, in ms, from /proc (Linux); null elsewhere. */
export function cpuMs(child: ChildProcess | undefined): number | null {
  try {
    const fields = fs.readFileSync(`/proc/${child?.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, in clock ticks of 1/100 s
  } catch {
    return null;
  }
}

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Runs `count` requests, `concurrency` at a time; each makes one HTTP call. */
export async function measure(name: string, count: number, call: (i: number) => Promise<void>, concurrency = CONCURRENCY): Promise<Result> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        const t0 = performance.now();
        await call(i);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { name, perSecond: count / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

export function startProcess(args: string[], env: Record<string, string>, readyText: string): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes(readyText)) resolve(child);
    });
    // The standalone sandbox Notion says it is listening on stderr.
    child.stderr!.on('data', (d) => {
      err += d;
      if (err.includes(readyText)) resolve(child);
    });
    child.on('exit', (code) => reject(new Error(`process exited ${code}\n${err}`)));
  });
}
/**
 * The sandbox Notion in its own process, as `npm run sandbox:notion` runs it, for a Gatehouse at `gatehouseUrl`;
 * `rateLimit` unset keeps its default limit. Pushed onto `children`.
 */
export async function startSandboxNotion(args: {
  start: typeof startProcess;
  port: number;
  dataDir: string;
  client: { id: string; secret: string };
  gatehouseUrl: string;
  children: ChildProcess[];
  rateLimit?: number;
}): Promise<ChildProcess> {
  const child = await args.start(
    ['--import', 'tsx', 'src/sandbox/notion/standalone.ts'],
    {
      SANDBOX_NOTION_PORT: String(args.port),
      SANDBOX_NOTION_PUBLIC_URL: `http://127.0.0.1:${args.port}`,
      SANDBOX_NOTION_STATE_FILE: path.join(args.dataDir, 'sandbox-notion.json'),
      SANDBOX_NOTION_CLIENT_ID: args.client.id,
      SANDBOX_NOTION_CLIENT_SECRET: args.client.secret,
      SANDBOX_NOTION_REDIRECT_URIS: `${args.gatehouseUrl}/connect/notion/callback`,
      ...(args.rateLimit === undefined ? {} : { SANDBOX_NOTION_RATE_LIMIT: String(args.rateLimit) }),
    },
    'sandbox Notion listening',
  );
  args.children.push(child);
  return child;
}

/** SIGTERM to each child, then waits (up to 10 s) until they have exited: a profiled process writes its profile on the way out. */
export async function stopAll(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.splice(0).map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const timer = setTimeout(resolve, 10_000);
          child.once('exit', () => (clearTimeout(timer), resolve()));
          child.kill('SIGTERM');
        }),
    ),
  );
}

export function require_resolve(name: string): string {
  return path.resolve('node_modules', name);
}
