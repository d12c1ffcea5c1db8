/**
 * The parts of a webhook deployment as separate processes, each started as
 * an operator or a partner would start it: the sandbox Notion on its own port
 * (`npm run sandbox:notion`), and a partner's receiver
 * (extras-receiver-process.ts). Each resolves once the process says it is
 * listening; `stop` ends that process only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { listenOnFreePort } from '../support/harness.js';
import { ROOT } from '../support/processes.js';

export interface ChildService {
  url: string;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

export async function freeUrl(): Promise<string> {
  const { server, url } = await listenOnFreePort();
  await new Promise((resolve) => server.close(resolve));
  return url;
}

function startChild(args: string[], env: Record<string, string>, ready: (text: string) => string | null): Promise<ChildService> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${args[0]} did not start\n${output}`));
    }, 30_000);
    const onData = (d: Buffer) => {
      output += d.toString();
      const url = ready(output);
      if (!url) return;
      clearTimeout(timer);
      resolve({
        url,
        child,
        output: () => output,
        async stop() {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          await exited;
        },
      });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`${args[0]} exited\n${output}`));
    });
  });
}

/** `npm run sandbox:notion` on a free port, Gatehouse its one OAuth client, no rate limit in the way. */
export async function startSandboxNotionProcess(args: {
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
  stateFile: string;
}): Promise<ChildService> {
  const url = await freeUrl();
  return startChild(
    ['src/sandbox/notion/standalone.ts'],
    {
      SANDBOX_NOTION_PORT: new URL(url).port,
      SANDBOX_NOTION_PUBLIC_URL: url,
      SANDBOX_NOTION_STATE_FILE: args.stateFile,
      SANDBOX_NOTION_CLIENT_ID: args.clientId,
      SANDBOX_NOTION_CLIENT_SECRET: args.clientSecret,
      SANDBOX_NOTION_REDIRECT_URIS: args.redirectUris.join(','),
      SANDBOX_NOTION_RATE_LIMIT: '1000',
    },
    (text) => (text.includes('sandbox Notion listening on') ? url : null),
  );
}

export interface ReceiverReport {
  verificationToken: string | null;
  deliveries: Array<{
    type: string;
    entity: { id: string; type: string };
    webhookId?: string;
    notionValid: boolean;
    standardValid: boolean;
    json: Record<string, unknown>;
  }>;
}

export interface ReceiverProcess extends ChildService {
  hookUrl: string;
  report(): Promise<ReceiverReport>;
  configure(signingSecret: string): Promise<void>;
}

export async function startReceiverProcess(): Promise<ReceiverProcess> {
  const service = await startChild(['test/webhooks/extras-receiver-process.ts'], {}, (text) => /listening (\S+)/.exec(text)?.[1] ?? null);
  return {
    ...service,
    hookUrl: `${service.url}/hooks/notion`,
    report: async () => (await (await fetch(`${service.url}/received`)).json()) as ReceiverReport,
    async configure(signingSecret) {
      const response = await fetch(`${service.url}/config`, { method: 'PUT', body: JSON.stringify({ signing_secret: signingSecret }) });
      if (response.status !== 204) throw new Error(`receiver config answered ${response.status}`);
    },
  };
}

/** Polls until `check` answers a value (not undefined), or fails after `ms`. */
export async function eventually<T>(check: () => Promise<T | undefined>, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
