/**
 * One load generator for every server in the peers' comparison: autocannon
 * over keep-alive connections, with each server's CPU time read from
 * /proc/<pid>/stat around the run, so req/s, latency and CPU per request
 * come from the same requests. Latency percentiles are computed here from
 * every response (autocannon's own histogram rounds to whole milliseconds
 * and counts only 2xx answers).
 */
import fs from 'node:fs';
import autocannon from 'autocannon';

export interface LoadResult {
  name: string;
  requests: number;
  unexpected: number;
  /** Answers by status, e.g. {"200": 990, "429": 10}. */
  statuses: Record<string, number>;
  perSecond: number;
  p50: number;
  p99: number;
  /** Server CPU (user + system) per answered request, ms; null when /proc is not readable. */
  cpuMs: number | null;
}

export interface LoadSpec {
  name: string;
  url: string;
  method?: 'GET' | 'POST';
  headers: Record<string, string>;
  /** A fixed body, or one built per request (codes and refresh tokens are spent once). */
  body?: string | (() => string);
  /** A bearer token chosen per request (the proxy's check). */
  bearer?: () => string;
  /** Sees every answer's body, e.g. to keep the refresh token it carries. */
  onBody?: (status: number, body: string) => void;
  /** The status every answer should have (others are counted as unexpected). */
  expect: number;
  seconds: number;
  connections: number;
  /** The server process whose CPU time is charged to this run. */
  pid: number | undefined;
}

/** CPU time (utime + stime) a process has used so far, in ms, from /proc (Linux); null elsewhere. */
export function processCpuMs(pid: number | undefined): number | null {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // clock ticks of 1/100 s
  } catch {
    return null;
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN;
}

export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const latencies: number[] = [];
  let unexpected = 0;
  const statuses: Record<string, number> = {};
  const url = new URL(spec.url);
  const { body, bearer } = spec;
  const perRequest = typeof body === 'function' || bearer !== undefined;
  const request: autocannon.Request = {
    method: spec.method ?? 'POST',
    path: url.pathname,
    headers: spec.headers,
    ...(typeof body === 'string' ? { body } : {}),
    ...(perRequest
      ? {
          setupRequest: (req: autocannon.Request) => ({
            ...req,
            ...(typeof body === 'function' ? { body: body() } : {}),
            ...(bearer ? { headers: { ...spec.headers, authorization: `Bearer ${bearer()}` } } : {}),
          }),
        }
      : {}),
    ...(spec.onBody ? { onResponse: (status: number, responseBody: string) => spec.onBody!(status, responseBody) } : {}),
  };
  return new Promise((resolve, reject) => {
    const cpuBefore = processCpuMs(spec.pid);
    const started = performance.now();
    const instance = autocannon(
      { url: url.origin, connections: spec.connections, duration: spec.seconds, requests: [request], timeout: 10 },
      (err) => {
        if (err) return reject(err);
        const seconds = (performance.now() - started) / 1000;
        const cpuAfter = processCpuMs(spec.pid);
        latencies.sort((a, b) => a - b);
        resolve({
          name: spec.name,
          requests: latencies.length,
          unexpected,
          statuses,
          perSecond: latencies.length / seconds,
          p50: percentile(latencies, 50),
          p99: percentile(latencies, 99),
          cpuMs: cpuBefore === null || cpuAfter === null || !latencies.length ? null : (cpuAfter - cpuBefore) / latencies.length,
        });
      },
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      latencies.push(responseTime);
      statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
      if (statusCode !== spec.expect) unexpected++;
    });
  });
}

/** Several runs of the same thing as one figure: requests and CPU summed, latencies' medians across runs. */
export function combine(runs: LoadResult[]): LoadResult {
  const requests = runs.reduce((n, r) => n + r.requests, 0);
  const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const cpu = runs.every((r) => r.cpuMs !== null) ? runs.reduce((n, r) => n + r.cpuMs! * r.requests, 0) / requests : null;
  return {
    name: runs[0]!.name,
    requests,
    unexpected: runs.reduce((n, r) => n + r.unexpected, 0),
    statuses: runs.reduce<Record<string, number>>((all, r) => {
      for (const [status, count] of Object.entries(r.statuses)) all[status] = (all[status] ?? 0) + count;
      return all;
    }, {}),
    perSecond: median(runs.map((r) => r.perSecond)),
    p50: median(runs.map((r) => r.p50)),
    p99: median(runs.map((r) => r.p99)),
    cpuMs: cpu,
  };
}
