/**
 * `npm run gatehouse -- <command>`: talks to the running server's admin API.
 * URL and token from GATEHOUSE_URL / GATEHOUSE_ADMIN_TOKEN, else from the
 * files the server writes into GATEHOUSE_DATA_DIR. Prints exactly one JSON
 * object on stdout, logs on stderr, exits non-zero on error.
 */
import fs from 'node:fs';
import path from 'node:path';
import { dataFiles } from '../store/data-dir.js';
import { webhookSubscriptionCommands } from './webhook-subscription-commands.js';
import { WEBHOOK_DELIVERY_COMMANDS } from './webhook-delivery-commands.js';

/** How a flag is read: `value` once, `repeat` any number of times, `switch` without a value. */
type FlagKind = 'value' | 'repeat' | 'switch';

export interface ParsedArgs {
  values: Record<string, string>;
  repeated: Record<string, string[]>;
  switches: Set<string>;
  positionals: string[];
}

interface HttpCall {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  body?: Record<string, unknown>;
}

export interface Command {
  summary: string;
  usage: string;
  flags: Record<string, FlagKind>;
  /** Names of the positional arguments it takes, in order. */
  positionals?: string[];
  request(args: ParsedArgs): HttpCall;
}

export const COMMANDS: Record<string, Command> = {
  ...WEBHOOK_DELIVERY_COMMANDS,
  'workspaces list': {
    summary: 'list the workspaces you may see',
    usage: 'workspaces list',
    flags: {},
    request: () => ({ method: 'GET', path: '/api/admin/v1/workspaces' }),
  },
  'keys rotate': {
    summary: 're-encrypt every stored credential under the current key',
    usage: 'keys rotate',
    flags: {},
    request: () => ({ method: 'POST', path: '/api/admin/v1/keys/rotate', body: {} }),
  },
  'apps create': {
    summary: 'register a partner app; the secret of a confidential client is printed once',
    usage:
      'apps create --name N --redirect-uri U [--redirect-uri U2] --capabilities read_content,insert_content,user_info_without_email [--public-client] [--built-by-organisation] [--logo-url L] [--website W] [--support-contact S]',
    flags: {
      name: 'value',
      'redirect-uri': 'repeat',
      capabilities: 'value',
      'public-client': 'switch',
      'built-by-organisation': 'switch',
      'logo-url': 'value',
      website: 'value',
      'support-contact': 'value',
    },
    request: (args) => {
      requireFlags(args, ['name', 'redirect-uri', 'capabilities']);
      return {
        method: 'POST',
        path: '/api/admin/v1/apps',
        body: {
          name: args.values.name,
          redirect_uris: args.repeated['redirect-uri'],
          capabilities: args.values
            .capabilities!.split(',')
            .map((c) => c.trim())
            .filter(Boolean),
          client_type: args.switches.has('public-client') ? 'public' : 'confidential',
          built_by_organisation: args.switches.has('built-by-organisation'),
          ...(args.values['logo-url'] !== undefined ? { logo_url: args.values['logo-url'] } : {}),
          ...(args.values.website !== undefined ? { website: args.values.website } : {}),
          ...(args.values['support-contact'] !== undefined ? { support_contact: args.values['support-contact'] } : {}),
        },
      };
    },
  },
  'apps list': {
    summary: 'list the partner apps (never their secrets)',
    usage: 'apps list',
    flags: {},
    request: () => ({ method: 'GET', path: '/api/admin/v1/apps' }),
  },
  'apps rotate-secret': {
    summary: 'give a confidential partner app a new client secret, printed once; the old one stops working',
    usage: 'apps rotate-secret <client_id> (or --client-id <client_id>)',
    flags: { 'client-id': 'value' },
    positionals: ['client_id'],
    request: (args) => {
      const fromFlag = args.values['client-id'];
      const fromPosition = args.positionals[0];
      if (fromFlag !== undefined && fromPosition !== undefined && fromFlag !== fromPosition)
        throw usageError('bad_arguments', 'give the client id once: as an argument or with --client-id');
      const clientId = fromFlag ?? fromPosition;
      if (!clientId) throw usageError('missing_argument', 'apps rotate-secret needs a client id: apps rotate-secret <client_id>');
      return { method: 'POST', path: `/api/admin/v1/apps/${encodeURIComponent(clientId)}/rotate-secret`, body: {} };
    },
  },
  'grants list': {
    summary: 'list active grants: of one workspace (its owners, organisation admins), or all you may see',
    usage: 'grants list [--workspace W]',
    flags: { workspace: 'value' },
    request: (args) => ({
      method: 'GET',
      path: `/api/admin/v1/grants${args.values.workspace !== undefined ? `?workspace=${encodeURIComponent(args.values.workspace)}` : ''}`,
    }),
  },
  'grants revoke': {
    summary: 'revoke one grant: its codes, access and refresh tokens stop working at once, on every instance (idempotent)',
    usage: 'grants revoke <grant_id> [--reason R]',
    flags: { reason: 'value' },
    positionals: ['grant_id'],
    request: (args) => {
      const grantId = args.positionals[0];
      if (!grantId) throw usageError('missing_argument', 'grants revoke needs a grant id: grants revoke <grant_id>');
      return {
        method: 'POST',
        path: `/api/admin/v1/grants/${encodeURIComponent(grantId)}/revoke`,
        body: args.values.reason !== undefined ? { reason: args.values.reason } : {},
      };
    },
  },
  'policy set': {
    summary: 'set a workspace\'s install policy ("Restrict members from installing connections")',
    usage: 'policy set --workspace W --restrict approved_only|no_restrictions [--auto-approve on|off]',
    flags: { workspace: 'value', restrict: 'value', 'auto-approve': 'value' },
    request: (args) => {
      requireFlags(args, ['workspace', 'restrict']);
      const restrict = args.values.restrict!;
      if (restrict !== 'approved_only' && restrict !== 'no_restrictions')
        throw usageError('bad_arguments', '--restrict must be approved_only or no_restrictions');
      const auto = args.values['auto-approve'];
      if (auto !== undefined && auto !== 'on' && auto !== 'off') throw usageError('bad_arguments', '--auto-approve must be on or off');
      return {
        method: 'POST',
        path: `/api/admin/v1/workspaces/${encodeURIComponent(args.values.workspace!)}/policy`,
        body: { install_policy: restrict, ...(auto !== undefined ? { auto_approve_organisation: auto === 'on' } : {}) },
      };
    },
  },
  'approved list': {
    summary: "a workspace's approved connections, who installed each, and the apps that could be approved",
    usage: 'approved list --workspace W',
    flags: { workspace: 'value' },
    request: (args) => {
      requireFlags(args, ['workspace']);
      return { method: 'GET', path: `/api/admin/v1/workspaces/${encodeURIComponent(args.values.workspace!)}/approved-apps` };
    },
  },
  'approved add': {
    summary: 'add a partner app already installed in the workspace to its approved list',
    usage: 'approved add --workspace W --client-id C',
    flags: { workspace: 'value', 'client-id': 'value' },
    request: (args) => {
      requireFlags(args, ['workspace', 'client-id']);
      return {
        method: 'POST',
        path: `/api/admin/v1/workspaces/${encodeURIComponent(args.values.workspace!)}/approved-apps`,
        body: { client_id: args.values['client-id'] },
      };
    },
  },
  'approved remove': {
    summary: 'remove a partner app from the approved list (stops new installs by members; existing grants stay)',
    usage: 'approved remove --workspace W --client-id C',
    flags: { workspace: 'value', 'client-id': 'value' },
    request: (args) => {
      requireFlags(args, ['workspace', 'client-id']);
      return {
        method: 'POST',
        path: `/api/admin/v1/workspaces/${encodeURIComponent(args.values.workspace!)}/approved-apps/${encodeURIComponent(args.values['client-id']!)}/remove`,
        body: {},
      };
    },
  },
  'roles set': {
    summary: 'make a member an owner, or an owner a member (the last owner cannot step down)',
    usage: 'roles set --workspace W --email E --role owner|member',
    flags: { workspace: 'value', email: 'value', role: 'value' },
    request: (args) => {
      requireFlags(args, ['workspace', 'email', 'role']);
      const role = args.values.role!;
      if (role !== 'owner' && role !== 'member') throw usageError('bad_arguments', '--role must be owner or member');
      return {
        method: 'POST',
        path: `/api/admin/v1/workspaces/${encodeURIComponent(args.values.workspace!)}/members/role`,
        body: { email: args.values.email, role },
      };
    },
  },
  'audit export': {
    summary: 'the audit events you may see, newest first, as JSON (owners: their workspaces; organisation admins: everything)',
    usage:
      'audit export [--since ISO] [--until ISO] [--action A] [--workspace W] [--actor EMAIL_OR_ID] [--partner APP_OR_CLIENT_ID] [--limit N]',
    flags: { since: 'value', until: 'value', action: 'value', workspace: 'value', actor: 'value', partner: 'value', limit: 'value' },
    request: (args) => {
      for (const name of ['since', 'until'] as const) {
        const value = args.values[name];
        if (value !== undefined && Number.isNaN(Date.parse(value)))
          throw usageError('bad_arguments', `--${name} must be an ISO 8601 date and time`);
      }
      const query = new URLSearchParams(Object.entries(args.values).filter(([, v]) => v !== undefined) as Array<[string, string]>);
      if (!query.has('limit')) query.set('limit', '1000');
      return { method: 'GET', path: `/api/admin/v1/audit?${query.toString()}` };
    },
  },
  'integrations list': {
    summary: 'internal integrations of the workspaces you own',
    usage: 'integrations list',
    flags: {},
    request: () => ({ method: 'GET', path: '/api/admin/v1/integrations' }),
  },
  'integrations create': {
    summary: 'create an internal integration in a workspace you own',
    usage: 'integrations create --name N --workspace W --capabilities read_content,no_user_info [--logo-url L]',
    flags: { name: 'value', workspace: 'value', capabilities: 'value', 'logo-url': 'value' },
    request: (args) => {
      requireFlags(args, ['name', 'workspace', 'capabilities']);
      return {
        method: 'POST',
        path: '/api/admin/v1/integrations',
        body: {
          name: args.values.name,
          workspace_id: args.values.workspace,
          capabilities: args.values
            .capabilities!.split(',')
            .map((c) => c.trim())
            .filter(Boolean),
          ...(args.values['logo-url'] !== undefined ? { logo_url: args.values['logo-url'] } : {}),
        },
      };
    },
  },
  'integrations token': {
    summary: "print an internal integration's token (recorded in the audit log)",
    usage: 'integrations token <integration_id>',
    flags: {},
    positionals: ['integration_id'],
    request: (args) => {
      const id = args.positionals[0];
      if (!id) throw usageError('missing_argument', 'integrations token needs an integration id');
      return { method: 'POST', path: `/api/admin/v1/integrations/${encodeURIComponent(id)}/token`, body: {} };
    },
  },
  'integrations convert': {
    summary: 'convert an internal integration to public; the client secret is printed once',
    usage: 'integrations convert <integration_id> --redirect-uri U [--redirect-uri U2]',
    flags: { 'redirect-uri': 'repeat' },
    positionals: ['integration_id'],
    request: (args) => {
      const id = args.positionals[0];
      if (!id) throw usageError('missing_argument', 'integrations convert needs an integration id');
      requireFlags(args, ['redirect-uri']);
      return {
        method: 'POST',
        path: `/api/admin/v1/integrations/${encodeURIComponent(id)}/convert`,
        body: { redirect_uris: args.repeated['redirect-uri'] },
      };
    },
  },
  'webhooks notion-token': {
    summary: "the verification token Notion sent the webhook intake, to paste into the integration's settings at Notion",
    usage: 'webhooks notion-token [--integration-id I]',
    flags: { 'integration-id': 'value' },
    request: (args) => ({
      method: 'GET',
      path: `/api/admin/v1/webhooks/notion-token${
        args.values['integration-id'] !== undefined ? `?integration_id=${encodeURIComponent(args.values['integration-id'])}` : ''
      }`,
    }),
  },
  ...webhookSubscriptionCommands({ usageError, requireFlags }),
};

export class CliError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** Mistakes in the command itself exit with 2, as getopt-style tools do. */
function usageError(code: string, message: string): CliError {
  return new CliError(code, message, 2);
}

function requireFlags(args: ParsedArgs, names: string[]): void {
  const missing = names.filter((n) => args.values[n] === undefined && args.repeated[n] === undefined);
  if (missing.length) throw usageError('missing_flag', `missing ${missing.map((m) => `--${m}`).join(', ')}`);
}

/** Strict flag parsing: unknown flags, missing values, repeats of single flags and stray words are errors. */
export function parseArgs(command: Command, args: string[]): ParsedArgs {
  const parsed: ParsedArgs = { values: {}, repeated: {}, switches: new Set(), positionals: [] };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      parsed.positionals.push(...args.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      parsed.positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const name = flag.replace(/^--?/, '');
    const kind = flag.startsWith('--') && Object.hasOwn(command.flags, name) ? command.flags[name] : undefined;
    if (kind === undefined)
      throw usageError(
        'unknown_flag',
        `unknown flag "${flag.slice(0, 100)}" for "${command.usage.split(' ').slice(0, 2).join(' ')}"; usage: ${command.usage}`,
      );
    if (kind === 'switch') {
      if (eq !== -1) throw usageError('bad_arguments', `--${name} takes no value`);
      parsed.switches.add(name);
      continue;
    }
    let value: string;
    if (eq !== -1) {
      value = arg.slice(eq + 1);
    } else {
      const next = args[i + 1];
      if (next === undefined || next.startsWith('--')) throw usageError('missing_value', `--${name} needs a value`);
      value = next;
      i++;
    }
    if (kind === 'repeat') {
      (parsed.repeated[name] ??= []).push(value);
    } else {
      if (parsed.values[name] !== undefined) throw usageError('bad_arguments', `--${name} is given twice`);
      parsed.values[name] = value;
    }
  }
  const allowed = command.positionals?.length ?? 0;
  if (parsed.positionals.length > allowed)
    throw usageError('unexpected_argument', `unexpected argument "${parsed.positionals[allowed]!.slice(0, 100)}"; usage: ${command.usage}`);
  return parsed;
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
