/**
 * `webhooks deliveries <subscription_id>` and `webhooks replay
 * <subscription_id> --since ISO [--until ISO]`: entries of the command
 * line's table (src/cli/gatehouse.ts), over the admin API's delivery routes.
 */
import { CliError } from './command.js';

type FlagKind = 'value' | 'repeat' | 'switch';

interface Args {
  values: Record<string, string>;
  positionals: string[];
}

interface DeliveryCommand {
  summary: string;
  usage: string;
  flags: Record<string, FlagKind>;
  positionals: string[];
  request(args: Args): { method: 'GET' | 'POST'; path: string; body?: Record<string, unknown> };
}

function subscriptionId(args: Args, command: string): string {
  const id = args.positionals[0];
  if (!id) throw new CliError('missing_argument', `${command} needs a subscription id`, 2);
  return encodeURIComponent(id);
}

export const WEBHOOK_DELIVERY_COMMANDS: Record<string, DeliveryCommand> = {
  'webhooks deliveries': {
    summary: "a webhook subscription's recent deliveries: event, entity, status, attempts, last response",
    usage: 'webhooks deliveries <subscription_id> [--limit N]',
    flags: { limit: 'value' },
    positionals: ['subscription_id'],
    request: (args) => {
      const limit = args.values.limit;
      if (limit !== undefined && !/^\d{1,3}$/.test(limit)) throw new CliError('bad_arguments', '--limit must be a number from 1 to 200', 2);
      return {
        method: 'GET',
        path: `/api/admin/v1/webhooks/subscriptions/${subscriptionId(args, 'webhooks deliveries')}/deliveries${limit ? `?limit=${limit}` : ''}`,
      };
    },
  },
  'webhooks replay': {
    summary: "send a subscription the stored events since a time again, judged on today's grants",
    usage: 'webhooks replay <subscription_id> --since ISO [--until ISO]',
    flags: { since: 'value', until: 'value' },
    positionals: ['subscription_id'],
    request: (args) => {
      const id = subscriptionId(args, 'webhooks replay');
      if (args.values.since === undefined) throw new CliError('missing_flag', 'missing --since', 2);
      return {
        method: 'POST',
        path: `/api/admin/v1/webhooks/subscriptions/${id}/replay`,
        body: { since: args.values.since, ...(args.values.until !== undefined ? { until: args.values.until } : {}) },
      };
    },
  },
};
