/** A sandbox Notion on a real port (127.0.0.1:0), mounted as Gatehouse mounts it. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { Client } from '@notionhq/client';
import { createSandboxNotion } from '../../src/sandbox/notion/index.js';
import type { SandboxNotion, SandboxNotionOptions } from '../../src/sandbox/notion/index.js';

export const GATEHOUSE_CLIENT = {
  clientId: 'gatehouse-test-client',
  clientSecret: 'gatehouse-test-secret',
  redirectUris: ['http://127.0.0.1:9/callback', 'http://127.0.0.1:9/other-callback'],
  name: 'Gatehouse',
  capabilities: ['read_content', 'update_content', 'insert_content', 'read_comments', 'insert_comments', 'user_info_with_email'],
} satisfies SandboxNotionOptions['oauthClients'][number];

export interface RunningSandbox {
  sandbox: SandboxNotion;
  /** Notion base URL: `${origin}/sandbox/notion`. */
  baseUrl: string;
  client(auth?: string, notionVersion?: string): Client;
  stop(): Promise<void>;
}

export async function startSandbox(options: Partial<SandboxNotionOptions> = {}): Promise<RunningSandbox> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}/sandbox/notion`;
  const sandbox = await createSandboxNotion({ stateFile: null, publicUrl: baseUrl, oauthClients: [GATEHOUSE_CLIENT], ...options });
  const app = express();
  app.use('/sandbox/notion', sandbox.router);
  server.on('request', app);
  return {
    sandbox,
    baseUrl,
    client: (auth?: string, notionVersion?: string) =>
      new Client({ auth, baseUrl, retry: false, logger: () => undefined, ...(notionVersion ? { notionVersion } : {}) }),
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await sandbox.close();
    },
  };
}

/** fetch with a cookie jar and without following redirects, as a browser without JavaScript would be driven. */
export class Browser {
  private readonly cookies = new Map<string, string>();

  async request(url: string, init: { method?: string; form?: Record<string, string | string[]> } = {}): Promise<Response> {
    const headers: Record<string, string> = {};
    if (this.cookies.size > 0) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    let body: string | undefined;
    if (init.form) {
      const params = new URLSearchParams();
      for (const [key, value] of Object.entries(init.form)) for (const v of [value].flat()) params.append(key, v);
      body = params.toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    }
    const response = await fetch(url, { method: init.method ?? (body ? 'POST' : 'GET'), headers, body, redirect: 'manual' });
    for (const cookie of response.headers.getSetCookie()) {
      const [pair] = cookie.split(';');
      const [name, ...value] = pair.split('=');
      this.cookies.set(name.trim(), value.join('='));
    }
    return response;
  }

  /** Follows a 303 and resolves the Location against the request URL. */
  static location(response: Response, from: string): string {
    const location = response.headers.get('location');
    if (!location) throw new Error(`expected a redirect, got ${response.status}`);
    return new URL(location, from).toString();
  }
}

/** Reads a hidden or named input's value from server-rendered HTML. */
export function inputValue(html: string, name: string): string {
  const match = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
  if (!match) throw new Error(`no input named ${name}`);
  return match[1];
}

export function formAction(html: string, containing: string): string {
  const actions = [...html.matchAll(/<form method="(?:get|post)" action="([^"]*)"/g)].map((m) => m[1]);
  const action = actions.find((a) => a.includes(containing));
  if (!action) throw new Error(`no form action containing ${containing}`);
  return action.replace(/&amp;/g, '&');
}
