/**
 * The embedded default's sandbox Notion subscribed to Gatehouse's own intake,
 * as an organisation admin would do at Notion: subscribe with the intake's
 * URL, let the sandbox send its verification POST, read the token the intake
 * kept, and enter it back. Done once; a restart finds the subscription active.
 */
import type { Logger } from 'pino';
import type { Keyring } from '../crypto/keyring.js';
import type { SandboxNotion } from '../sandbox/notion/index.js';
import type { WebhookEventStore } from '../store/webhook-events.js';
import { intakeTokenOf, PUBLIC_INTAKE_ID } from './intake.js';

/** The verification POST goes to this process; if it does not arrive by then, something else is wrong. */
const HANDSHAKE_WAIT_MS = 10_000;

export async function subscribeSandboxToIntake(args: {
  sandbox: SandboxNotion;
  clientId: string;
  publicUrl: string;
  events: WebhookEventStore;
  keyring: Keyring;
  logger: Logger;
}): Promise<void> {
  const { sandbox } = args;
  const existing = sandbox.webhooks.list().find((s) => s.clientId === args.clientId);
  if (existing?.status === 'active') return;
  let id = existing?.id;
  if (id) await sandbox.webhooks.resendVerification(id);
  else id = (await sandbox.webhooks.subscribe({ clientId: args.clientId }, `${args.publicUrl}/webhooks/notion`)).id;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([sandbox.webhooks.idle(), new Promise((resolve) => (timer = setTimeout(resolve, HANDSHAKE_WAIT_MS)))]);
  clearTimeout(timer);
  const { token } = await intakeTokenOf(PUBLIC_INTAKE_ID, args);
  if (!token) {
    args.logger.warn('the sandbox Notion could not reach the webhook intake: its events will not arrive');
    return;
  }
  await sandbox.webhooks.verify(id, token).catch((err: Error) => {
    // The intake kept an earlier token (confirmed): an organisation admin resets it on the Webhooks page.
    args.logger.warn({ err: err.message }, 'the sandbox Notion webhook subscription could not be verified');
  });
}
