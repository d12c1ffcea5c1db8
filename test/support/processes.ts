/** Real server and command-line processes, as an operator runs them. */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import type { Page } from 'playwright-core';
import { launchChromium } from './chromium.js';
import { listenOnFreePort } from './harness.js';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function run(command: string, args: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/tmp', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} timed out\n${stderr}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export interface ServerProcess {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  readyLine: string;
  exited: Promise<number | null>;
}

/** Starts `node --import tsx src/server.ts` and resolves once it prints its start-up line. */
export function startServerProcess(env: Record<string, string>, timeoutMs = 60_000): Promise<ServerProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/tmp', LOG_LEVEL: 'warn', GATEHOUSE_SHUTDOWN_DRAIN_SECONDS: '0', ...env },
    });
    let stdout = '';
    let stderr = '';
    const exited = new Promise<number | null>((done) => child.on('close', (code) => done(code)));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start\n${stderr}`));
    }, timeoutMs);
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.on('data', (d) => {
      stdout += d;
      const line = stdout.split('\n').find((l) => l.startsWith('Gatehouse ready'));
      if (line) {
        clearTimeout(timer);
        resolve({ child, stdout: () => stdout, stderr: () => stderr, readyLine: line, exited });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}\n${stderr}`));
    });
  });
}

export async function stopServerProcess(server: ServerProcess): Promise<number | null> {
  server.child.kill('SIGTERM');
  return server.exited;
}

/**
 * The embedded default as a new user runs it: `npm start` on a fresh data
 * folder and a free port, and a Chromium page to drive it.
 */
export async function startEmbeddedDemo(): Promise<{ baseUrl: string; page: Page; stop(): Promise<void> }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-demo-'));
  const { server: probe, url } = await listenOnFreePort();
  await new Promise((resolve) => probe.close(resolve));
  const server = await startServerProcess({ PORT: new URL(url).port, GATEHOUSE_PUBLIC_URL: url, GATEHOUSE_DATA_DIR: dataDir });
  const browser = await launchChromium();
  const page = await (await browser.newContext()).newPage();
  return {
    baseUrl: url,
    page,
    async stop() {
      await browser.close();
      await stopServerProcess(server);
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
