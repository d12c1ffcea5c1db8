/**
 * `npm run gatehouse -- <command>`: talks to the running server's admin API.
 * URL and token from GATEHOUSE_URL / GATEHOUSE_ADMIN_TOKEN, else from the
 * files the server writes into GATEHOUSE_DATA_DIR. Prints exactly one JSON
 * object on stdout, logs on stderr, exits non-zero on error.
 */
import fs from 'node:fs';
import path from 'node:path';
import { dataFiles } from '../store/data-dir.js';
import { CliError, parseArgs, requireFlags, usageError } from './command.js';
import { INTEGRATION_COMMANDS } from './integration-commands.js';
import { ORGANISATION_COMMANDS } from './organisation-commands.js';
import { PARTNER_APP_COMMANDS } from './partner-app-commands.js';
import { WORKSPACE_COMMANDS } from './workspace-commands.js';
import type { Command } from './command.js';
import { webhookSubscriptionCommands } from './webhook-subscription-commands.js';
import { WEBHOOK_DELIVERY_COMMANDS } from './webhook-delivery-commands.js';

export { CliError, parseArgs } from './command.js';
export type { Command, ParsedArgs } from './command.js';

/** Every command, in the order `--help` lists them. */
export const COMMANDS: Record<string, Command> = {
  ...WEBHOOK_DELIVERY_COMMANDS,
  ...ORGANISATION_COMMANDS,
  ...PARTNER_APP_COMMANDS,
  ...WORKSPACE_COMMANDS,
  ...INTEGRATION_COMMANDS,
  ...webhookSubscriptionCommands({ usageError, requireFlags }),
};

function readSetting(env: NodeJS.ProcessEnv, name: string, file: string, what: string): string {
  const fromEnv = env[name]?.trim();
  if (fromEnv) return fromEnv;
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    throw new CliError('not_configured', `${name} is not set and ${file} cannot be read: start Gatehouse first, or set ${name} (${what})`);
  }
}

function usage(): { commands: string[] } {
  return { commands: Object.entries(COMMANDS).map(([, c]) => `${c.usage}: ${c.summary}`) };
}

export async function runCli(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<unknown> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h') return usage();
  const name = argv.slice(0, 2).join(' ');
  const command = COMMANDS[name];
  if (!command) {
    const words = argv
      .filter((a) => !a.startsWith('-'))
      .slice(0, 2)
      .join(' ');
    throw usageError(
      'unknown_command',
      `unknown command "${(words || argv[0]!).slice(0, 100)}"; commands: ${Object.keys(COMMANDS).join(', ')}`,
    );
  }
  const rest = argv.slice(2);
  if (rest.includes('--help') || rest.includes('-h')) return { usage: command.usage, summary: command.summary };
  const request = command.request(parseArgs(command, rest));

  const dataDir = path.resolve(env.GATEHOUSE_DATA_DIR?.trim() || './data');
  const baseUrl = readSetting(env, 'GATEHOUSE_URL', dataFiles.url(dataDir), 'the server URL').replace(/\/+$/, '');
  const token = readSetting(env, 'GATEHOUSE_ADMIN_TOKEN', dataFiles.adminToken(dataDir), 'an admin token');
  let response: Response;
  try {
    response = await fetch(`${baseUrl}${request.path}`, {
      method: request.method,
      headers: {
        authorization: `Bearer ${token}`,
        accept: 'application/json',
        ...(request.body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: request.body !== undefined ? JSON.stringify(request.body) : undefined,
      // A registration may fetch a logo (5 s at most) before it answers.
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
