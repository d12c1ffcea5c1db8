/**
 * OpenAPI operations for partner webhook subscriptions, from the zod schemas
 * that validate those requests (spread into src/admin/openapi.ts).
 */
import { z } from 'zod';
import { newSubscriptionBodySchema, subscriptionWireSchema, verifyBodySchema } from './subscription-wire.js';

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io }) as Record<string, unknown>;
  return rest;
}

export function subscriptionSchemas(): Record<string, unknown> {
  return {
    NewWebhookSubscription: jsonSchema(newSubscriptionBodySchema, 'input'),
    WebhookSubscription: jsonSchema(subscriptionWireSchema, 'output'),
    WebhookVerification: jsonSchema(verifyBodySchema, 'input'),
  };
}

export function subscriptionPaths(errors: Record<number, unknown>): Record<string, unknown> {
  const error = { content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
  const subscription = { content: { 'application/json': { schema: { $ref: '#/components/schemas/WebhookSubscription' } } } };
  const id = [{ name: 'subscription_id', in: 'path', required: true, schema: { type: 'string' } }];
  const notFound = { 404: { description: 'No subscription with this id', ...error } };
  const bad = { 400: { description: 'Bad input; nothing changed', ...error } };
  return {
    '/webhooks/subscriptions': {
      get: {
        summary: "Partner webhook subscriptions (organisation admins): all, or one partner app's; never a secret",
        parameters: [{ name: 'client_id', in: 'query', required: false, schema: { type: 'string' } }],
        responses: {
          200: {
            description: 'A list of subscriptions',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['object', 'subscriptions'],
                  properties: {
                    object: { const: 'list' },
                    subscriptions: { type: 'array', items: { $ref: '#/components/schemas/WebhookSubscription' } },
                  },
                },
              },
            },
          },
          ...bad,
          404: { description: 'No partner app with this client id', ...error },
          ...errors,
        },
      },
      post: {
        summary:
          'Subscribe a partner app\'s URL to Notion event types (organisation admins). Gatehouse POSTs { "verification_token" } to the URL; the subscription stays pending until the token is entered back. The whsec_ signing_secret is in this answer only',
        requestBody: {
          required: true,
          content: { 'application/json': { schema: { $ref: '#/components/schemas/NewWebhookSubscription' } } },
        },
        responses: {
          201: { description: 'Created, pending (a failed verification POST leaves it pending: resend it)', ...subscription },
          ...bad,
          404: { description: 'No partner app with this client id', ...error },
          ...errors,
        },
      },
    },
    '/webhooks/subscriptions/{subscription_id}': {
      get: {
        summary: 'One subscription',
        parameters: id,
        responses: { 200: { description: 'The subscription', ...subscription }, ...notFound, ...errors },
      },
      delete: {
        summary: 'Delete a subscription: nothing more is delivered to its URL',
        parameters: id,
        responses: { 200: { description: '{ id, deleted: true }' }, ...notFound, ...errors },
      },
    },
    '/webhooks/subscriptions/{subscription_id}/verify': {
      post: {
        summary:
          'Enter back the token the verification POST carried: pending → active. A wrong token changes nothing and is rate-limited. Partners verify their own at POST /v1/webhooks/subscriptions/{subscription_id}/verify with their client credentials',
        parameters: id,
        requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/WebhookVerification' } } } },
        responses: {
          200: { description: 'Active', ...subscription },
          ...bad,
          409: { description: 'Disabled: resend the verification POST first', ...error },
          429: { description: 'Too many wrong tokens', ...error },
          ...notFound,
          ...errors,
        },
      },
    },
    '/webhooks/subscriptions/{subscription_id}/rotate-secret': {
      post: {
        summary:
          'A new whsec_ signing secret, in this answer only; the previous one keeps signing through the overlap (24 hours by default)',
        parameters: id,
        responses: { 200: { description: 'The subscription with its new signing_secret', ...subscription }, ...notFound, ...errors },
      },
    },
    '/webhooks/subscriptions/{subscription_id}/resend-verification': {
      post: {
        summary: 'Send the verification POST again (pending or disabled subscriptions; a disabled one goes back to pending)',
        parameters: id,
        responses: {
          200: { description: 'Sent and answered with 2xx', ...subscription },
          409: { description: 'Verified already', ...error },
          502: { description: 'The URL did not answer with 2xx: the subscription stays pending', ...error },
          ...notFound,
          ...errors,
        },
      },
    },
  };
}
