/**
 * Nothing is mounted outside a zone unnoticed: every route the running
 * application serves (walked from Express's whole router stack, nested
 * routers and their mount paths included) is in the endpoint registry with
 * its method, zone and audit record, and every declared endpoint is mounted.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { endpointRegistry, SANDBOX_MOUNTS, STATIC_MOUNTS } from '../../src/http/endpoint-registry.js';
import { ENDPOINTS } from '../../src/proxy/endpoints.js';

interface Layer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
  name?: string;
  rawPath?: string;
  slash?: boolean;
}

interface Mounted {
  routes: Set<string>;
  /** Middleware mounted under a path (guards, parsers, static files). */
  mounts: Set<string>;
}

function walk(stack: Layer[], prefix: string, out: Mounted): Mounted {
  for (const layer of stack) {
    if (layer.route) {
      for (const path of ([] as string[]).concat(layer.route.path))
        for (const [method, on] of Object.entries(layer.route.methods))
          if (on) out.routes.add(`${method === '_all' ? 'all' : method} ${prefix}${path}`);
    } else {
      const at = layer.slash ? prefix : `${prefix}${layer.rawPath ?? ''}`;
      if (layer.handle?.stack) walk(layer.handle.stack, at, out);
      else if (!layer.slash) out.mounts.add(at);
    }
  }
  return out;
}

const inSandbox = (path: string) => SANDBOX_MOUNTS.some((m) => path === m || path.startsWith(`${m}/`));

describe('the endpoint registry', () => {
  let t: TestGatehouse;
  let mounted: Mounted;
  beforeAll(async () => {
    t = await startTestGatehouse();
    const app = t.gatehouse.server.listeners('request')[0] as unknown as { router: { stack: Layer[] } };
    mounted = walk(app.router.stack, '', { routes: new Set(), mounts: new Set() });
  });
  afterAll(async () => t.stop());

  const registry = endpointRegistry();
  const declared = new Set(registry.map((e) => `${e.method} ${e.path}`));

  it('lists every route the application mounts, and each declared route is mounted', () => {
    const routes = [...mounted.routes].filter((r) => !inSandbox(r.split(' ')[1]!));
    expect(routes.length).toBeGreaterThan(100);
    expect(routes.filter((r) => !declared.has(r))).toEqual([]);
    // The proxy is one handler for its allow-list (src/proxy/endpoints.ts), not one route each.
    const routed = registry.filter((e) => e.area !== 'proxy').map((e) => `${e.method} ${e.path}`);
    expect(routed.filter((r) => !mounted.routes.has(r))).toEqual([]);
  });

  it('declares each endpoint once, in one zone, with its audit actions or why none', () => {
    const keys = registry.map((e) => `${e.method} ${e.path}`);
    expect(keys.filter((k, i) => keys.indexOf(k) !== i)).toEqual([]);
    for (const e of registry) {
      expect(['public', 'partner', 'session-page', 'owner', 'org-admin']).toContain(e.zone);
      const audit = e.audit;
      if (typeof audit === 'object' && 'none' in audit) expect(audit.none.length).toBeGreaterThan(0);
      else expect(([] as string[]).concat(audit as string | string[]).length).toBeGreaterThan(0);
    }
    // The admin API is never a partner's or anonymous, but for its own description.
    for (const e of registry.filter((x) => x.path.startsWith('/api/admin/v1/') && x.path !== '/api/admin/v1/openapi.json'))
      expect(['owner', 'org-admin']).toContain(e.zone);
    expect(registry.filter((e) => e.area === 'proxy')).toHaveLength(ENDPOINTS.length);
    // Each endpoint names the folder of src/ whose code answers it.
    const areas = [...new Set(registry.map((e) => e.area))];
    expect(areas.filter((a) => !existsSync(new URL(`../../src/${a}/`, import.meta.url)))).toEqual([]);
    expect(areas.length).toBeGreaterThan(6);
  });

  it('mounts middleware under a path only to guard declared routes, or to serve static files', () => {
    const paths = [...declared].map((k) => k.split(' ')[1]!);
    const stray = [...mounted.mounts].filter(
      (m) => !inSandbox(m) && !(STATIC_MOUNTS as readonly string[]).includes(m) && !paths.some((p) => p === m || p.startsWith(`${m}/`)),
    );
    expect(stray).toEqual([]);
  });
});
