/**
 * `apps create`, `apps list`, `apps rotate-secret`: partner apps over the admin API.
 * Entries of the command line's table (./gatehouse.ts).
 */
import { requireFlags, usageError } from './command.js';
import type { Command } from './command.js';

export const PARTNER_APP_COMMANDS: Record<string, Command> = {
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
};
