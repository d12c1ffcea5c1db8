/**
 * Which admin API operation each `gatehouse` command calls: the command line
 * is a client of the same declared endpoints as the console and the API
 * (src/http/endpoint-registry.ts), never a side door to the rules.
 * test/unit/cli-operations.test.ts checks each command's request against
 * this table and each operation against the registry.
 */
const V1 = '/api/admin/v1';

export interface CliOperation {
  method: 'get' | 'post' | 'put' | 'delete';
  /** The declared endpoint's path, as the registry has it. */
  path: string;
}

const op = (method: CliOperation['method'], path: string): CliOperation => ({ method, path: `${V1}${path}` });

export const CLI_OPERATIONS: Record<string, CliOperation> = {
  'webhooks deliveries': op('get', '/webhooks/subscriptions/:id/deliveries'),
  'webhooks replay': op('post', '/webhooks/subscriptions/:id/replay'),
  'workspaces list': op('get', '/workspaces'),
  'keys rotate': op('post', '/keys/rotate'),
  // With --agents it sets the policy; without, it reads it (GET of the same declared path).
  'workspaces agent-policy': op('put', '/workspaces/:workspace_id/agent-policy'),
  'apps create': op('post', '/apps'),
  'apps list': op('get', '/apps'),
  'apps rotate-secret': op('post', '/apps/:client_id/rotate-secret'),
  'grants list': op('get', '/grants'),
  'grants revoke': op('post', '/grants/:grant_id/revoke'),
  'policy set': op('post', '/workspaces/:workspace_id/policy'),
  'approved list': op('get', '/workspaces/:workspace_id/approved-apps'),
  'approved add': op('post', '/workspaces/:workspace_id/approved-apps'),
  'approved remove': op('post', '/workspaces/:workspace_id/approved-apps/:client_id/remove'),
  'roles set': op('post', '/workspaces/:workspace_id/members/role'),
  'audit export': op('get', '/audit'),
  'integrations list': op('get', '/integrations'),
  'integrations create': op('post', '/integrations'),
  'integrations token': op('post', '/integrations/:integration_id/token'),
  'integrations convert': op('post', '/integrations/:integration_id/convert'),
  'webhooks notion-token': op('get', '/webhooks/notion-token'),
  'webhooks subscribe': op('post', '/webhooks/subscriptions'),
  'webhooks verify': op('post', '/webhooks/subscriptions/:subscription_id/verify'),
  'webhooks list': op('get', '/webhooks/subscriptions'),
  'webhooks rotate-secret': op('post', '/webhooks/subscriptions/:subscription_id/rotate-secret'),
  'webhooks resend-verification': op('post', '/webhooks/subscriptions/:subscription_id/resend-verification'),
  'webhooks delete': op('delete', '/webhooks/subscriptions/:subscription_id'),
};
