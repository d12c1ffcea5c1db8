/**
 * Start-up as an operator meets it: real processes, the data folder lock,
 * one-line refusals of bad settings, and the command line's contract.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { listenOnFreePort } from '../support/harness.js';
import { run, startServerProcess, stopServerProcess, type ServerProcess } from '../support/processes.js';

async function freePort(): Promise<number> {
  const { server, url } = await listenOnFreePort();
  await new Promise((resolve) => server.close(resolve));
  return Number(new URL(url).port);
}

const serverArgs = ['--import', 'tsx', 'src/server.ts'];

describe('start-up', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-startup-'));
  let port: number;
  let first: ServerProcess;
  let env: Record<string, string>;

  beforeAll(async () => {
    port = await freePort();
    env = { PORT: String(port), GATEHOUSE_PUBLIC_URL: `http://127.0.0.1:${port}`, GATEHOUSE_DATA_DIR: dataDir };
    first = await startServerProcess(env);
  });
  afterAll(async () => {
    if (first.child.exitCode === null) await stopServerProcess(first);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('says in one line which parts are sandbox and where to go', () => {
    expect(first.readyLine).toBe(
      `Gatehouse ready: database=embedded PGlite, sessions=database, identity=sandbox OpenID provider, notion=sandbox Notion; open http://127.0.0.1:${port}/`,
    );
    expect(first.stderr()).toContain('generated an encryption key');
  });

  it('writes the URL and a bootstrap admin token (mode 0600) for the command line', () => {
    expect(fs.readFileSync(path.join(dataDir, 'url'), 'utf8').trim()).toBe(`http://127.0.0.1:${port}`);
    expect(fs.statSync(path.join(dataDir, 'admin-token')).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.join(dataDir, 'secrets.json')).mode & 0o777).toBe(0o600);
  });

  it('refuses a second process on the same data folder with a clear message; the first keeps working', async () => {
    const second = await run(process.execPath, serverArgs, { ...env, PORT: String(await freePort()) });
    expect(second.code).toBe(1);
    expect(second.stderr.trim()).toBe(
      `Gatehouse cannot start: GATEHOUSE_DATA_DIR: ${dataDir} is in use by another Gatehouse process; stop it first or choose another data folder`,
    );
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(ready.status).toBe(200);
  });

  it('the command line prints exactly one JSON object: workspaces list', async () => {
    const result = await run('npm', ['run', '--silent', 'gatehouse', '--', 'workspaces', 'list'], { GATEHOUSE_DATA_DIR: dataDir });
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const body = JSON.parse(lines[0]!);
    expect(body.workspaces.map((w: { name: string }) => w.name).sort()).toEqual(['Acme', 'Side Project']);
  });

  it('the command line rotates keys and reports an error as JSON with a non-zero exit', async () => {
    const rotated = await run('npm', ['run', 'gatehouse', '--', 'keys', 'rotate'], { GATEHOUSE_DATA_DIR: dataDir });
    expect(rotated.code).toBe(0);
    // Three Notion connections, the token the sandbox Notion sent the webhook intake, the demo partner subscription's two secrets.
    expect(JSON.parse(rotated.stdout.trim())).toMatchObject({ key_id: expect.any(String), reencrypted: 0, already_current: 6 });
    const refused = await run('npm', ['run', 'gatehouse', '--', 'workspaces', 'list'], {
      GATEHOUSE_DATA_DIR: dataDir,
      GATEHOUSE_ADMIN_TOKEN: 'gh_admin_not-a-real-token-at-all',
    });
    expect(refused.code).not.toBe(0);
    expect(JSON.parse(refused.stdout.trim())).toEqual({ error: { code: 'unauthorized', message: 'This admin token is not valid.' } });
  });

  it('stops cleanly on SIGTERM, and the folder is sound for the next start', async () => {
    expect(await stopServerProcess(first)).toBe(0);
    first = await startServerProcess(env);
    const list = await run('npm', ['run', 'gatehouse', '--', 'workspaces', 'list'], { GATEHOUSE_DATA_DIR: dataDir });
    expect(JSON.parse(list.stdout).workspaces).toHaveLength(2);
  });
});

describe('bad configuration stops start-up with one line and exit code 1', () => {
  it.each([
    [{ PORT: 'eighty' }, 'Gatehouse cannot start: PORT: must be a port number (0-65535)'],
    [
      { DATABASE_URL: 'postgres://user:hunter2@127.0.0.1:1/x' },
      'Gatehouse cannot start: GATEHOUSE_OIDC_ISSUER: is required with DATABASE_URL (with _OIDC_CLIENT_ID and _OIDC_CLIENT_SECRET), or set GATEHOUSE_SANDBOX=1 to use the sandbox provider',
    ],
    [
      { DATABASE_URL: 'postgres://gatehouse@127.0.0.1:1/x', GATEHOUSE_SANDBOX: '1' },
      'Gatehouse cannot start: GATEHOUSE_ENCRYPTION_KEYS: is required when DATABASE_URL is set',
    ],
    [
      { GATEHOUSE_ENCRYPTION_KEYS: 'k1:dG9vLXNob3J0' },
      'Gatehouse cannot start: GATEHOUSE_ENCRYPTION_KEYS: key "k1" must be 32 bytes, base64-encoded',
    ],
  ])('%p', async (settings, line) => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-badconfig-'));
    const result = await run(process.execPath, serverArgs, { GATEHOUSE_DATA_DIR: dataDir, PORT: '0', ...settings });
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe(line);
    expect(result.stdout).toBe('');
    expect(result.stderr).not.toContain('hunter2');
    // Nothing half-started: no database, no secrets written.
    expect(fs.readdirSync(dataDir)).toEqual([]);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
});
