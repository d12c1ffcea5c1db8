/**
 * PostgreSQL and Redis not there yet when Gatehouse starts (they come up
 * after it, as in a fresh deployment): the process waits, says every few
 * seconds what it tries (never a password), answers /healthz and says on
 * /readyz why it is not ready, then starts by itself once both are there.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { deleteRedisPrefix } from '../support/databases.js';
import { listenOnFreePort, POSTGRES_URL, REDIS_URL, testKeys, uniqueName } from '../support/harness.js';
import { startServerProcess, stopServerProcess, type ServerProcess } from '../support/processes.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { eventually } from '../support/eventually.js';

async function freePort(): Promise<number> {
  const { server, url } = await listenOnFreePort();
  await new Promise((resolve) => server.close(resolve));
  return Number(new URL(url).port);
}

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

describe('start-up while PostgreSQL and Redis are still down', () => {
  const database = uniqueName('gh_late');
  const redisPrefix = `${uniqueName('late')}:`;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-late-'));
  const pgTarget = new URL(POSTGRES_URL);
  const redisTarget = new URL(REDIS_URL);
  const pgProxy = new TcpProxy(pgTarget.hostname, Number(pgTarget.port || 5432));
  const redisProxy = new TcpProxy(redisTarget.hostname, Number(redisTarget.port || 6379));
  let server: ServerProcess | undefined;

  afterAll(async () => {
    if (server) await stopServerProcess(server);
    await pgProxy.close();
    await redisProxy.close();
    await admin(`drop database if exists "${database}"`).catch(() => undefined);
    await deleteRedisPrefix(redisPrefix);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('waits with /healthz up and /readyz saying why, logs what it tries, and starts once both are back', async () => {
    await admin(`create database "${database}"`);
    pgProxy.port = await freePort();
    redisProxy.port = await freePort();
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const databaseUrl = new URL(POSTGRES_URL);
    databaseUrl.host = `127.0.0.1:${pgProxy.port}`;
    databaseUrl.password = 'hunter2-not-logged';
    databaseUrl.pathname = `/${database}`;
    const started = startServerProcess(
      {
        PORT: String(port),
        GATEHOUSE_PUBLIC_URL: url,
        GATEHOUSE_DATA_DIR: dataDir,
        DATABASE_URL: databaseUrl.toString(),
        REDIS_URL: `redis://127.0.0.1:${redisProxy.port}`,
        GATEHOUSE_REDIS_PREFIX: redisPrefix,
        GATEHOUSE_SANDBOX: '1',
        ...testKeys(),
      },
      120_000,
    );
    let health = null as Response | null;
    await eventually(
      async () => {
        health = await fetch(`${url}/healthz`);
        return true;
      },
      { orFalse: true },
    );
    expect(health?.status).toBe(200);
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: 'starting', checks: { database: 'waiting', redis: 'waiting' } });
    const page = await fetch(`${url}/v1/users/me`);
    expect([page.status, page.headers.get('retry-after')]).toEqual([503, '5']);

    await new Promise((resolve) => setTimeout(resolve, 6_000));
    await pgProxy.open();
    await redisProxy.open();
    server = await started;
    expect((await fetch(`${url}/readyz`)).status).toBe(200);

    const lines = server
      .stderr()
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as { msg: string; target?: string; service?: string });
    const waiting = lines.filter((l) => l.msg.startsWith('waiting for'));
    expect(waiting.map((l) => l.service)).toEqual(expect.arrayContaining(['PostgreSQL', 'Redis']));
    // Once every few seconds, not once per attempt.
    expect(waiting.filter((l) => l.service === 'PostgreSQL').length).toBeLessThanOrEqual(3);
    expect(waiting.find((l) => l.service === 'PostgreSQL')?.target).toBe(`postgres://127.0.0.1:${pgProxy.port}/${database}`);
    expect(server.stderr()).not.toContain('hunter2');
  }, 150_000);
});
