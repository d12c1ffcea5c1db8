/**
 * `webhooks subscribe`, `webhooks verify`, `webhooks list` and
 * the other subscription actions of the admin API, as command entries for
 * ./gatehouse.ts. The helpers come in as an argument so this file imports
 * nothing at run time from the module that imports it.
 */
import type { Command, ParsedArgs } from './command.js';

interface Helpers {
  usageError(code: string, message: string): Error;
  requireFlags(args: ParsedArgs, names: string[]): void;
}

const BASE = '/api/admin/v1/webhooks/subscriptions';

export function webhookSubscriptionCommands(h: Helpers): Record<string, Command> {
  const idOf = (args: ParsedArgs, usage: string) => {
    const id = args.positionals[0];
    if (!id) throw h.usageError('missing_argument', `needs a subscription id: ${usage}`);
    return encodeURIComponent(id);
  };
  return {
    'webhooks subscribe': {
      summary: "subscribe a partner app's URL to Notion event types; prints the subscription (pending) with its signing secret, once",
      usage: 'webhooks subscribe --client-id C --url U --events page.created,comment.created',
      flags: { 'client-id': 'value', url: 'value', events: 'value' },
      request: (args) => {
        h.requireFlags(args, ['client-id', 'url', 'events']);
        return {
          method: 'POST',
          path: BASE,
          body: {
            client_id: args.values['client-id'],
            url: args.values.url,
            events: args.values
              .events!.split(',')
              .map((e) => e.trim())
              .filter(Boolean),
          },
        };
      },
    },
    'webhooks verify': {
      summary: 'enter back the verification token the URL received; the subscription becomes active',
      usage: 'webhooks verify <subscription_id> --token T',
      flags: { token: 'value' },
      positionals: ['subscription_id'],
      request: (args) => {
        const id = idOf(args, 'webhooks verify <subscription_id> --token T');
        h.requireFlags(args, ['token']);
        return { method: 'POST', path: `${BASE}/${id}/verify`, body: { verification_token: args.values.token } };
      },
    },
    'webhooks list': {
      summary: "partner webhook subscriptions: all, or one app's",
      usage: 'webhooks list [--client-id C]',
      flags: { 'client-id': 'value' },
      request: (args) => ({
        method: 'GET',
        path: `${BASE}${args.values['client-id'] !== undefined ? `?client_id=${encodeURIComponent(args.values['client-id'])}` : ''}`,
      }),
    },
    'webhooks rotate-secret': {
      summary: 'a new whsec_ signing secret, printed once; the previous one keeps signing through the overlap',
      usage: 'webhooks rotate-secret <subscription_id>',
      flags: {},
      positionals: ['subscription_id'],
      request: (args) => ({
        method: 'POST',
        path: `${BASE}/${idOf(args, 'webhooks rotate-secret <subscription_id>')}/rotate-secret`,
        body: {},
      }),
    },
    'webhooks resend-verification': {
      summary: 'send the verification POST again (a disabled subscription goes back to pending)',
      usage: 'webhooks resend-verification <subscription_id>',
      flags: {},
      positionals: ['subscription_id'],
      request: (args) => ({
        method: 'POST',
        path: `${BASE}/${idOf(args, 'webhooks resend-verification <subscription_id>')}/resend-verification`,
        body: {},
      }),
    },
    'webhooks delete': {
      summary: 'delete a subscription: nothing more is delivered to its URL',
      usage: 'webhooks delete <subscription_id>',
      flags: {},
      positionals: ['subscription_id'],
      request: (args) => ({ method: 'DELETE', path: `${BASE}/${idOf(args, 'webhooks delete <subscription_id>')}` }),
    },
  };
}
