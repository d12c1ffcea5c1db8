/**
 * Sandbox Notion on its own port (`npm run sandbox:notion`), with the
 * sandbox-only control endpoints under /_sandbox for tests driving it over HTTP.
 *
 * Env: SANDBOX_NOTION_PORT (3100), SANDBOX_NOTION_PUBLIC_URL (http://localhost:$PORT),
 * SANDBOX_NOTION_STATE_FILE (./data/sandbox-notion.json), SANDBOX_NOTION_CLIENT_ID,
 * SANDBOX_NOTION_CLIENT_SECRET, SANDBOX_NOTION_REDIRECT_URIS (comma separated),
 * SANDBOX_NOTION_TOKEN_LIFETIME_SECONDS, SANDBOX_NOTION_RATE_LIMIT,
 * SANDBOX_NOTION_WEBHOOKS (`off`: no webhook request is ever sent),
 * SANDBOX_NOTION_WEBHOOK_RETRY_MS (delays before attempts 2..8, comma separated).
 */
import express from 'express';
import helmet from 'helmet';
import { createSandboxNotion } from './index.js';
import type { SandboxCapability, SandboxNotionOptions } from './index.js';

/** Gatehouse asks for everything, with email addresses (it keys people by email). */
const GATEHOUSE_CAPABILITIES: SandboxCapability[] = [
  'read_content',
  'update_content',
  'insert_content',
  'read_comments',
  'insert_comments',
  'user_info_with_email',
];

function numberFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    console.error(`${name} must be a positive number`);
    process.exit(1);
  }
  return value;
}

function retryDelaysFromEnv(): number[] | undefined {
  const raw = process.env.SANDBOX_NOTION_WEBHOOK_RETRY_MS;
  if (raw === undefined || raw.trim() === '') return undefined;
  const delays = raw.split(',').map((s) => Number(s.trim()));
  if (!delays.every((d) => Number.isFinite(d) && d >= 0)) {
    console.error('SANDBOX_NOTION_WEBHOOK_RETRY_MS must be comma-separated non-negative numbers of milliseconds');
    process.exit(1);
  }
  return delays;
}

async function main(): Promise<void> {
  const port = numberFromEnv('SANDBOX_NOTION_PORT', 3100);
  const publicUrl = process.env.SANDBOX_NOTION_PUBLIC_URL ?? `http://localhost:${port}`;
  const clientId = process.env.SANDBOX_NOTION_CLIENT_ID;
  const clientSecret = process.env.SANDBOX_NOTION_CLIENT_SECRET;
  const redirectUris = (process.env.SANDBOX_NOTION_REDIRECT_URIS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const oauthClients: SandboxNotionOptions['oauthClients'] = [];
  if (clientId && clientSecret) {
    oauthClients.push({ clientId, clientSecret, redirectUris, name: 'Gatehouse', capabilities: GATEHOUSE_CAPABILITIES });
  } else if (clientId || clientSecret) {
    console.error('Set both SANDBOX_NOTION_CLIENT_ID and SANDBOX_NOTION_CLIENT_SECRET, or neither.');
    process.exit(1);
  }

  const sandbox = await createSandboxNotion({
    stateFile: process.env.SANDBOX_NOTION_STATE_FILE ?? './data/sandbox-notion.json',
    publicUrl,
    accessTokenLifetimeSeconds: numberFromEnv('SANDBOX_NOTION_TOKEN_LIFETIME_SECONDS', 3600),
    rateLimitPerSecond: numberFromEnv('SANDBOX_NOTION_RATE_LIMIT', 3),
    oauthClients,
    webhooks: { enabled: process.env.SANDBOX_NOTION_WEBHOOKS !== 'off', retryDelaysMs: retryDelaysFromEnv() },
  });

  const app = express();
  app.disable('x-powered-by');
  // Strict CSP as in Gatehouse; form-action is left open so "Allow access" can redirect to the client's redirect_uri.
  app.use(helmet({ contentSecurityPolicy: { directives: { 'form-action': null } } }));
  app.use('/_sandbox', express.json(), sandbox.controlRouter);
  app.use(sandbox.router);

  const server = app.listen(port, () => console.error(`sandbox Notion listening on ${publicUrl}`));
  const shutdown = (signal: string) => {
    console.error(`${signal}: closing sandbox Notion`);
    server.close(() => {
      sandbox.close().then(
        () => process.exit(0),
        (err: unknown) => {
          console.error(err);
          process.exit(1);
        },
      );
    });
    server.closeAllConnections();
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
