/**
 * A deployment of several Gatehouse instances as real processes, for crash
 * and fault tests: every instance shares one PostgreSQL schema, one Redis key
 * prefix, the same keys and one sandbox Notion on its own port (as
 * production instances share the real Notion), each on its own port and data
 * folder. An in-process instance on the same schema (`seed`) runs the
 * migrations first and gives tests the stores to seed data and inspect rows.
 *
 *   const d = await startDeployment();
 *   const a = await d.start('a', { GATEHOUSE_TEST_PAUSE_AT: 'code.issued' });
 *   await a.waitForLine('GATEHOUSE_PAUSED code.issued');
 *   await a.kill();                    // SIGKILL: no shutdown code runs
 *   const again = await d.restart(a);  // same port and data folder
 *   await d.close();                   // every process, the schema, the keys
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ManualClock, type Clock } from '../../src/clock.js';
import type { Tunables } from '../../src/config.js';
import { GATEHOUSE_CLIENT, startSandbox, type RunningSandbox } from '../sandbox-notion/harness.js';
import { deleteRedisPrefix, dropSchema, POSTGRES_URL, REDIS_URL, uniqueName } from './databases.js';
import { listenOnFreePort, startTestGatehouse, type TestGatehouse } from './harness.js';
import { ROOT } from './processes.js';
import { connectAdaToAcme, sharedUpstreamEnv } from './shared-upstream.js';

export interface Instance {
  name: string;
  url: string;
  /** The environment it was started with (restart reuses it, with changes). */
  env: Record<string, string>;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first stdout line containing `text` (already printed or yet to come). */
  waitForLine(text: string, timeoutMs?: number): Promise<string>;
  /** SIGKILL by default; resolves once the process is gone. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  readonly exited: Promise<number | null>;
}

export interface Deployment {
  schema: string;
  redisPrefix: string;
  sandbox: RunningSandbox;
  /** In process, on the same schema and prefix: the stores, keyring and config tests seed with. */
  seed: TestGatehouse;
  instances: Instance[];
  start(name: string, env?: Record<string, string>): Promise<Instance>;
  /** The same name, port and data folder, after the old process is gone; env changes are merged in (undefined removes). */
  restart(instance: Instance, env?: Record<string, string | undefined>): Promise<Instance>;
  close(): Promise<void>;
}

export interface DeploymentOptions {
  /** config/local.json-style overrides, given to every instance (and to `seed`). */
  tunables?: Partial<Tunables>;
  seedClock?: Clock;
}

const STARTUP_TIMEOUT_MS = 60_000;

function spawnInstance(name: string, url: string, env: Record<string, string>): Promise<Instance> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'test/support/instance-main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/tmp', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const listeners = new Set<() => void>();
  child.stdout!.on('data', (d) => {
    stdout += d;
    for (const listener of listeners) listener();
  });
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  let gone = false;
  void exited.then(() => {
    gone = true;
    for (const listener of listeners) listener();
  });

  const waitForLine = (text: string, timeoutMs = 30_000) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const line = stdout.split('\n').find((l) => l.includes(text));
        if (line !== undefined) done(() => resolve(line));
        else if (gone) done(() => reject(new Error(`${name} exited before printing "${text}"\n${stderr}`)));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`${name} did not print "${text}"\n${stderr}`))), timeoutMs);
      const done = (settle: () => void) => {
        clearTimeout(timer);
        listeners.delete(check);
        settle();
      };
      listeners.add(check);
      check();
    });

  const instance: Instance = {
    name,
    url,
    env,
    stdout: () => stdout,
    stderr: () => stderr,
    waitForLine,
    async kill(signal = 'SIGKILL') {
      if (!gone) child.kill(signal);
      await exited;
    },
    exited,
  };
  return waitForLine('Gatehouse ready', STARTUP_TIMEOUT_MS).then(
    () => instance,
    async (err: unknown) => {
      await instance.kill();
      throw err;
    },
  );
}

export async function startDeployment(options: DeploymentOptions = {}): Promise<Deployment> {
  const schema = uniqueName('crash');
  const redisPrefix = `${uniqueName('crash')}:`;
  const dirs: string[] = [];
  const sandbox = await startSandbox({ oauthClients: [{ ...GATEHOUSE_CLIENT, redirectUris: [...GATEHOUSE_CLIENT.redirectUris] }] });
  const shared: Record<string, string> = {
    ...sharedUpstreamEnv(sandbox),
    DATABASE_URL: POSTGRES_URL,
    GATEHOUSE_SANDBOX: '1',
    REDIS_URL,
    GATEHOUSE_REDIS_PREFIX: redisPrefix,
    GATEHOUSE_TEST_SCHEMA: schema,
    // Read by ./instance-main.ts: the same tunables for every instance.
    GATEHOUSE_TEST_TUNABLES: JSON.stringify(options.tunables ?? {}),
  };
  const seed = await startTestGatehouse({
    database: 'postgres',
    redis: true,
    schema,
    redisPrefix,
    env: shared,
    tunables: options.tunables,
    clock: options.seedClock,
  });
  await connectAdaToAcme(seed.gatehouse, sandbox, new ManualClock());

  const instances: Instance[] = [];
  const launch = async (name: string, env: Record<string, string>) => {
    const instance = await spawnInstance(name, env.GATEHOUSE_PUBLIC_URL!, env);
    instances.push(instance);
    return instance;
  };

  return {
    schema,
    redisPrefix,
    sandbox,
    seed,
    instances,
    async start(name, env = {}) {
      const { server, url } = await listenOnFreePort();
      await new Promise((resolve) => server.close(resolve));
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `gatehouse-${name}-`));
      dirs.push(dataDir);
      return launch(name, { ...shared, PORT: new URL(url).port, GATEHOUSE_PUBLIC_URL: url, GATEHOUSE_DATA_DIR: dataDir, ...env });
    },
    async restart(instance, env = {}) {
      await instance.kill();
      instances.splice(instances.indexOf(instance), 1);
      const next: Record<string, string> = { ...instance.env };
      for (const [key, value] of Object.entries(env)) {
        if (value === undefined) delete next[key];
        else next[key] = value;
      }
      return launch(instance.name, next);
    },
    async close() {
      await Promise.all(instances.map((i) => i.kill('SIGTERM')));
      await seed.stop();
      await sandbox.stop();
      await dropSchema(schema);
      await deleteRedisPrefix(redisPrefix);
      for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Traffic against several instances at once: `requests` calls of `call`,
 * `concurrency` at a time, spread round-robin over `urls`; the statuses
 * counted (a failed connection counts as 0).
 */
export async function driveTraffic(
  urls: string[],
  call: (url: string, index: number) => Promise<Response>,
  options: { requests: number; concurrency?: number },
): Promise<Map<number, number>> {
  const counts = new Map<number, number>();
  let next = 0;
  const worker = async () => {
    while (next < options.requests) {
      const index = next++;
      const status = await call(urls[index % urls.length]!, index).then(
        async (r) => {
          await r.arrayBuffer();
          return r.status;
        },
        () => 0,
      );
      counts.set(status, (counts.get(status) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 4 }, worker));
  return counts;
}
