/**
 * What an owner or organisation admin does to a workspace: grants, install and AI agent policies, the approved list, roles, and the audit export.
 * Entries of the command line's table (./gatehouse.ts).
 */
import { requireFlags, usageError } from './command.js';
import type { Command } from './command.js';

export const WORKSPACE_COMMANDS: Record<string, Command> = {
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
  'workspaces agent-policy': {
    summary:
      'show a workspace\'s AI agent policy, or set it with --agents ("No agents", "Only agents from approved redirect hosts", "Any agent")',
    usage: 'workspaces agent-policy --workspace W [--agents no_agents|approved_hosts|any_agent] [--hosts host1,host2]',
    flags: { workspace: 'value', agents: 'value', hosts: 'value' },
    request: (args) => {
      requireFlags(args, ['workspace']);
      const path = `/api/admin/v1/workspaces/${encodeURIComponent(args.values.workspace!)}/agent-policy`;
      const { agents, hosts } = args.values;
      if (agents === undefined) {
        if (hosts !== undefined) throw usageError('bad_arguments', '--hosts goes with --agents (for example --agents approved_hosts)');
        return { method: 'GET', path };
      }
      if (agents !== 'no_agents' && agents !== 'approved_hosts' && agents !== 'any_agent')
        throw usageError('bad_arguments', '--agents must be no_agents, approved_hosts or any_agent');
      // --hosts "" empties the list; without --hosts it stays as it is.
      const approvedHosts =
        hosts === undefined
          ? {}
          : {
              approved_hosts: hosts
                .split(',')
                .map((h) => h.trim())
                .filter((h) => h !== ''),
            };
      return { method: 'PUT', path, body: { policy: agents, ...approvedHosts } };
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
};
