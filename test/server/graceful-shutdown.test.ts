/**
 * SIGTERM as an orchestrator sends it: /readyz answers 503 at once, requests
 * are still served through the drain period, a request in flight when the
 * port closes still gets its answer, and the process exits 0.
 */
import { describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { listenOnFreePort } from '../support/harness.js';
import { startServerProcess } from '../support/processes.js';
import { eventually } from '../support/eventually.js';

/** Sends a request's head now and its body later, as a slow client does; resolves with the raw answer. */
function slowRequest(port: number): { finish: () => void; answer: Promise<string> } {
  const socket = net.connect(port, '127.0.0.1');
  const body = 'token=gh_at_nothing';
  socket.write(
    `POST /v1/oauth/introspect HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n`,
  );
  let raw = '';
  const answer = new Promise<string>((resolve) => {
    socket.on('data', (d) => (raw += d));
    socket.on('close', () => resolve(raw));
    socket.on('error', () => resolve(raw));
  });
  return { finish: () => socket.end(body), answer };
}

describe('graceful shutdown on SIGTERM', () => {
  it('drains: readyz 503 at once, requests served, in-flight ones answered, exit 0', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-drain-'));
    const { server: probe, url } = await listenOnFreePort();
    await new Promise((resolve) => probe.close(resolve));
    const port = Number(new URL(url).port);
    const server = await startServerProcess({
      PORT: String(port),
      GATEHOUSE_PUBLIC_URL: url,
      GATEHOUSE_DATA_DIR: dataDir,
      GATEHOUSE_SHUTDOWN_DRAIN_SECONDS: '2',
      LOG_LEVEL: 'info',
    });
    try {
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
      const inFlight = Array.from({ length: 10 }, () => slowRequest(port));
      await new Promise((resolve) => setTimeout(resolve, 200));
      const signalled = Date.now();
      server.child.kill('SIGTERM');

      // Not ready at once (well inside the 2 s drain), while still serving.
      let ready = await fetch(`${url}/readyz`);
      while (ready.status === 200 && Date.now() - signalled < 1500) ready = await fetch(`${url}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ status: 'draining' });
      expect(ready.headers.get('connection')).toBe('close');
      expect((await fetch(`${url}/healthz`)).status).toBe(200);

      // Past the drain the port closes; the slow requests are still in flight and finish now.
      const refused = () =>
        new Promise<boolean>((resolve) => {
          const probe = net.connect(port, '127.0.0.1');
          probe.on('connect', () => (probe.destroy(), resolve(false)));
          probe.on('error', () => resolve(true));
        });
      await eventually(refused, { timeoutMs: 60_000 });
      expect(Date.now() - signalled).toBeGreaterThanOrEqual(2000);
      for (const request of inFlight) request.finish();
      const answers = await Promise.all(inFlight.map((r) => r.answer));
      for (const answer of answers) expect(answer).toMatch(/^HTTP\/1\.1 401 /);

      expect(await server.exited).toBe(0);
      await expect(fetch(`${url}/healthz`)).rejects.toThrow();
      const lines = server
        .stderr()
        .split('\n')
        .filter((l) => l.trim());
      for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
      expect(lines.map((l) => JSON.parse(l).msg)).toEqual(expect.arrayContaining(['Gatehouse stopping', 'Gatehouse stopped']));
      expect(lines.some((l) => JSON.parse(l).res?.statusCode === 200)).toBe(true);
    } finally {
      if (server.child.exitCode === null) server.child.kill('SIGKILL');
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 90_000);
});
