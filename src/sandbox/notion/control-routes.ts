/**
 * Sandbox-only control endpoints, so tests can drive a standalone instance
 * over HTTP. Only standalone.ts mounts them (at /_sandbox); they answer
 * `{ error: { code, message } }` on bad input, like Gatehouse's admin APIs.
 */
import { Router } from 'express';
import type { Request, Response } from 'express';
import { isCapability } from './capabilities.js';
import type { SandboxNotion } from './index.js';
import { webhookControlRouter } from './webhook-control-routes.js';

function badRequest(res: Response, message: string): void {
  res.status(400).json({ error: { code: 'invalid_request', message } });
}

function stringArray(value: unknown): string[] | undefined | null {
  if (value === undefined) return undefined;
  return Array.isArray(value) && value.every((v) => typeof v === 'string') ? (value as string[]) : null;
}

export function controlRouter(sandbox: Omit<SandboxNotion, 'controlRouter'>): Router {
  const router = Router();

  router.post('/internal-integrations', async (req: Request, res: Response) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const capabilities = stringArray(body.capabilities);
    const pageIds = stringArray(body.pageIds);
    if (
      typeof body.workspaceName !== 'string' ||
      typeof body.name !== 'string' ||
      !capabilities ||
      !capabilities.every(isCapability) ||
      pageIds === null
    )
      return badRequest(res, 'Expected { workspaceName, name, capabilities: Capability[], pageIds?: string[] }.');
    try {
      res
        .status(201)
        .json(await sandbox.createInternalIntegration({ workspaceName: body.workspaceName, name: body.name, capabilities, pageIds }));
    } catch (err) {
      badRequest(res, (err as Error).message);
    }
  });

  router.post('/remove-member', async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (typeof body.workspaceName !== 'string' || typeof body.email !== 'string')
      return badRequest(res, 'Expected { workspaceName, email }.');
    try {
      await sandbox.removeMember({ workspaceName: body.workspaceName, email: body.email });
      res.status(204).end();
    } catch (err) {
      badRequest(res, (err as Error).message);
    }
  });

  router.post('/generated-pages', async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (typeof body.workspaceName !== 'string' || typeof body.count !== 'number')
      return badRequest(res, 'Expected { workspaceName, count }.');
    try {
      res.status(201).json(await sandbox.addGeneratedPages(body.workspaceName, body.count));
    } catch (err) {
      badRequest(res, (err as Error).message);
    }
  });

  router.get('/stats', (_req, res) => {
    res.json(sandbox.stats());
  });

  router.use('/webhooks', webhookControlRouter(sandbox.webhooks));

  router.get('/seed', (_req, res) => {
    res.json({ workspaces: sandbox.workspaces(), users: sandbox.users() });
  });

  return router;
}
