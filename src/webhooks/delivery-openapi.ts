/**
 * OpenAPI operations for a subscription's deliveries, replays and "Retry
 * now" (spread into src/admin/openapi.ts), from the schemas the routes use.
 */
import { z } from 'zod';
import { replayBodySchema } from './delivery-routes.js';

const instant = z.string().describe('ISO 8601 time');

/** A delivery as the API shows it (src/webhooks/delivery-admin.ts `deliveryToWire`). */
export const deliveryWireSchema = z.object({
  id: z.string().describe('Also the Standard Webhooks webhook-id the partner receives, the same on every attempt'),
  subscription_id: z.string(),
  event_id: z.string(),
  event_type: z.string(),
  entity: z.object({ id: z.string(), type: z.string() }),
  origin: z.enum(['live', 'replay']),
  status: z.enum(['pending', 'sending', 'delivered', 'failed', 'skipped']),
  attempts: z.number().int(),
  access: z.enum(['lost', 'gained']).nullable(),
  next_attempt_at: instant.nullable(),
  last_attempt_at: instant.nullable(),
  last_status_code: z.number().int().nullable(),
  last_error: z.string().nullable(),
  last_response_excerpt: z.string().nullable().describe('At most 1 KB of the last answer'),
  delivered_at: instant.nullable(),
  created_at: instant,
});

const replayWireSchema = z.object({
  replay_id: z.string(),
  subscription_id: z.string(),
  events: z.number().int().describe('Stored events queued for fan-out to this subscription'),
  since: instant,
  until: instant.nullable(),
});

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io }) as Record<string, unknown>;
  return rest;
}

export function deliveryOperationSchemas(): Record<string, unknown> {
  return {
    WebhookDelivery: jsonSchema(deliveryWireSchema, 'output'),
    WebhookReplayRequest: jsonSchema(replayBodySchema, 'input'),
    WebhookReplay: jsonSchema(replayWireSchema, 'output'),
  };
}

export function deliveryOperationPaths(errors: Record<number, unknown>): Record<string, unknown> {
  const error = { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } };
  const ref = (name: string) => ({ 'application/json': { schema: { $ref: `#/components/schemas/${name}` } } });
  const bad = { 400: { description: 'Invalid request', content: error } };
  const notFound = { 404: { description: 'No such subscription or delivery', content: error } };
  const id = (what: string) => [{ name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' }, description: what }];
  return {
    '/webhooks/subscriptions/{id}/deliveries': {
      get: {
        summary: "A subscription's recent deliveries, newest first",
        parameters: [
          ...id('The subscription'),
          { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 200 } },
        ],
        responses: {
          200: {
            description: 'Deliveries',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  properties: {
                    object: { const: 'list' },
                    deliveries: { type: 'array', items: { $ref: '#/components/schemas/WebhookDelivery' } },
                  },
                },
              },
            },
          },
          ...bad,
          ...errors,
          ...notFound,
        },
      },
    },
    '/webhooks/subscriptions/{id}/replay': {
      post: {
        summary: "Replay: the stored events of a time range, fanned out again to this subscription on today's grants (audited)",
        parameters: id('The subscription'),
        requestBody: { required: true, content: ref('WebhookReplayRequest') },
        responses: { 202: { description: 'Queued', content: ref('WebhookReplay') }, ...bad, ...errors, ...notFound },
      },
    },
    '/webhooks/deliveries/{id}/retry': {
      post: {
        summary: '"Retry now": a failed or skipped delivery is due again at once (audited)',
        parameters: id('The delivery'),
        responses: {
          202: { description: 'Due again', content: ref('WebhookDelivery') },
          409: { description: 'The delivery is not failed or skipped', content: error },
          ...bad,
          ...errors,
          ...notFound,
        },
      },
    },
  };
}
