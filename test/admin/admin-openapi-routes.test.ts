/**
 * Routes and documentation cannot drift: every admin API route the running
 * application mounts (walked from Express's router stack) is in the OpenAPI
 * document with its method, and every documented operation is mounted. A
 * contract's zone is checked by the type checker (the @ts-expect-error below).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Router } from 'express';
import { z } from 'zod';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { contractsFor } from '../../src/http/contract.js';
import { mountZone, zoneGuards } from '../../src/http/zones.js';
import { adminApiContracts } from '../../src/admin/openapi.js';

const BASE = '/api/admin/v1';

interface Layer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

/** Every `METHOD path` under the admin API, from the router stack (nested routers mounted without a path). */
function mountedAdminRoutes(stack: Layer[], out = new Set<string>()): Set<string> {
  for (const layer of stack) {
    if (layer.route) {
      for (const path of ([] as string[]).concat(layer.route.path)) {
        if (!path.startsWith(`${BASE}/`)) continue;
        for (const [method, on] of Object.entries(layer.route.methods))
          if (on && method !== '_all') out.add(`${method} ${path.slice(BASE.length)}`);
      }
    } else if (layer.handle?.stack) {
      mountedAdminRoutes(layer.handle.stack, out);
    }
  }
  return out;
}

/** Parameter names differ between hand-written parts and routes; the shape is what must agree. */
const shape = (route: string) => route.replace(/\{[^}]+\}|:[A-Za-z0-9_]+/g, '{}');

describe('the admin API routes and its OpenAPI document', () => {
  let t: TestGatehouse;
  beforeAll(async () => {
    t = await startTestGatehouse();
  });
  afterAll(async () => t.stop());

  it('list the same operations', async () => {
    const app = t.gatehouse.server.listeners('request')[0] as unknown as { router: { stack: Layer[] } };
    const mounted = [...mountedAdminRoutes(app.router.stack)].map(shape).sort();
    const doc = (await (await fetch(`${t.url}${BASE}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    const documented = Object.entries(doc.paths)
      .flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method} ${path}`))
      .map(shape)
      .sort();
    expect(mounted.length).toBeGreaterThan(30);
    expect(mounted).toEqual(documented);
  });

  it('generates the declared operations from their contracts, each naming its audit action or why none', async () => {
    const doc = (await (await fetch(`${t.url}${BASE}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { operationId?: string; 'x-audit'?: unknown }>>;
    };
    const byId = new Map(
      Object.values(doc.paths)
        .flatMap((operations) => Object.values(operations))
        .map((o) => [o.operationId, o]),
    );
    for (const contract of adminApiContracts()) {
      expect(byId.get(contract.name)?.['x-audit']).toEqual(contract.audit);
      expect(contract.path.startsWith(BASE)).toBe(true);
    }
  });

  it('documents the webhook subscription operations from their contracts, with their shared schemas and refusals', async () => {
    type Operation = { operationId: string; requestBody?: unknown; responses: Record<string, { content?: unknown }> };
    const doc = (await (await fetch(`${t.url}${BASE}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, Operation>>;
      components: { schemas: Record<string, unknown> };
    };
    const ref = (name: string) => ({ 'application/json': { schema: { $ref: `#/components/schemas/${name}` } } });
    const ops = (path: string) => doc.paths[`/webhooks/subscriptions${path}`]!;
    const refusals = (o: Operation) => Object.keys(o.responses).sort();
    expect(ops('').post!.operationId).toBe('createWebhookSubscription');
    expect(ops('').post!.requestBody).toEqual({ required: true, content: ref('NewWebhookSubscription') });
    expect(ops('').post!.responses['201']!.content).toEqual(ref('WebhookSubscription'));
    expect(refusals(ops('').get!)).toEqual(['200', '400', '401', '403', '404']);
    expect(ops('/{subscription_id}').get!.responses['200']!.content).toEqual(ref('WebhookSubscription'));
    expect(ops('/{subscription_id}/verify').post!.requestBody).toEqual({ required: true, content: ref('WebhookVerification') });
    expect(refusals(ops('/{subscription_id}/verify').post!)).toEqual(['200', '400', '401', '403', '404', '409', '429']);
    expect(refusals(ops('/{subscription_id}/resend-verification').post!)).toEqual(['200', '401', '403', '404', '409', '502']);
    expect(
      Object.entries(doc.paths)
        .filter(([path]) => path.startsWith('/webhooks/subscriptions') && !/deliveries|replay/.test(path))
        .flatMap(([, o]) => Object.values(o).map((x) => x.operationId))
        .sort(),
    ).toEqual([
      'createWebhookSubscription',
      'deleteWebhookSubscription',
      'getWebhookSubscription',
      'listWebhookSubscriptions',
      'resendWebhookVerification',
      'rotateWebhookSigningSecret',
      'verifyWebhookSubscription',
    ]);
    for (const name of ['NewWebhookSubscription', 'WebhookSubscription', 'WebhookVerification'])
      expect(doc.components.schemas[name]).toMatchObject({ type: 'object' });
  });

  it('refuses a contract of another zone at run time as the type checker does', () => {
    const { api } = contractsFor<null>();
    const ownerOnly = api(
      { zone: 'owner', name: 'x', method: 'get', path: '/x', summary: 'x', answer: z.object({}), audit: { none: 'test' } },
      async () => ({}),
    );
    const guards = zoneGuards({ adminTokens: null as never, people: null as never, adminEmails: [], clock: null as never });
    // @ts-expect-error an owner contract cannot be mounted on the public zone
    expect(() => mountZone(Router(), 'public', [ownerOnly], null, guards)).toThrow('belongs to the owner zone');
  });
});
