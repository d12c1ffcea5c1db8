/**
 * Internal integrations (list, create, token, convert to public) and the verification token of Notion's webhook intake.
 * Entries of the command line's table (./gatehouse.ts).
 */
import { requireFlags, usageError } from './command.js';
import type { Command } from './command.js';

export const INTEGRATION_COMMANDS: Record<string, Command> = {
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
};
