/**
 * `npm run gatehouse -- <command>`: talks to the running server's admin API.
 * URL and token from GATEHOUSE_URL / GATEHOUSE_ADMIN_TOKEN, else from the
 * files the server writes into GATEHOUSE_DATA_DIR. Prints exactly one JSON
 * object on stdout, logs on stderr, exits non-zero on error.
 */
import fs from 'node:fs';
import path from 'node:path';
import { dataFiles } from '../store/data-dir.js';

interface Command {
  method: 'GET' | 'POST';
  path: string;
  summary: string;
}

export const COMMANDS: Record<string, Command> = {
  'workspaces list': { method: 'GET', path: '/api/admin/v1/workspaces', summary: 'list the workspaces you may see' },
  'keys rotate': { method: 'POST', path: '/api/admin/v1/keys/rotate', summary: 're-encrypt every stored credential under the current key' },
};

export class CliError extends Error {
  constructor(readonly code: string, message: string, readonly exitCode = 1) {
    super(message);
  }
}

function readSetting(env: NodeJS.ProcessEnv, name: string, file: string, what: string): string {
  const fromEnv = env[name]?.trim();
  if (fromEnv) return fromEnv;
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    throw new CliError('not_configured', `${name} is not set and ${file} cannot be read: start Gatehouse first, or set ${name} (${what})`);
  }
}

export async function runCli(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<unknown> {
  const words = argv.filter((a) => !a.startsWith('-'));
  const name = words.slice(0, 2).join(' ');
  const command = COMMANDS[name];
  if (!command || argv.includes('--help') || argv.includes('-h')) {
    const usage = Object.entries(COMMANDS).map(([n, c]) => `${n}: ${c.summary}`);
    if (!command && words.length > 0) throw new CliError('unknown_command', `unknown command "${words.join(' ')}"; commands: ${Object.keys(COMMANDS).join(', ')}`, 2);
    return { commands: usage };
  }
  const dataDir = path.resolve(env.GATEHOUSE_DATA_DIR?.trim() || './data');
  const baseUrl = readSetting(env, 'GATEHOUSE_URL', dataFiles.url(dataDir), 'the server URL').replace(/\/+$/, '');
  const token = readSetting(env, 'GATEHOUSE_ADMIN_TOKEN', dataFiles.adminToken(dataDir), 'an admin token');
  let response: Response;
  try {
    response = await fetch(`${baseUrl}${command.path}`, {
      method: command.method,
      headers: { authorization: `Bearer ${token}`, accept: 'application/json', ...(command.method === 'POST' ? { 'content-type': 'application/json' } : {}) },
      body: command.method === 'POST' ? '{}' : undefined,
      signal: AbortSignal.timeout(30_000),
    });
  } catch (err) {
    throw new CliError('unreachable', `cannot reach Gatehouse at ${baseUrl}: ${(err as Error).message}`);
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new CliError('bad_response', `Gatehouse answered ${response.status} without JSON`);
  }
  if (!response.ok) {
    const error = (body as { error?: { code?: string; message?: string } }).error;
    throw new CliError(error?.code ?? 'error', error?.message ?? `Gatehouse answered ${response.status}`);
  }
  return body;
}

const invokedDirectly = process.argv[1] && path.resolve(process.argv[1]).endsWith(path.join('cli', 'gatehouse.ts'));
if (invokedDirectly) {
  runCli(process.argv.slice(2)).then(
    (result) => {
      process.stdout.write(`${JSON.stringify(result)}\n`);
    },
    (err) => {
      const code = err instanceof CliError ? err.code : 'error';
      const message = err instanceof Error ? err.message : String(err);
      process.stderr.write(`gatehouse: ${message}\n`);
      process.stdout.write(`${JSON.stringify({ error: { code, message } })}\n`);
      process.exitCode = err instanceof CliError ? err.exitCode : 1;
    },
  );
}
