/**
 * Partner webhook subscriptions: plain rules
 * over the stores, called by the admin API, the partner app's page, the
 * partner's own verify endpoint and, through the API, the command line.
 *
 *            create ──▶ pending ──verify (right token)──▶ active
 *                        ▲   │                              │
 *   resend verification  │   └─ verification POST failed:   │ delivery engine:
 *   (disabled → pending) │      stays pending, reason kept  ▼ 410, long failure
 *                        └──────────────────────────────  disabled
 *
 * Invariants:
 * - every check runs before anything is written; a refusal writes nothing
 *   (a wrong token counts one failure in the limiter and one audit row, and
 *   changes no subscription);
 * - the verification token reaches only the subscription's URL, in the
 *   verification POST sent after the row is committed (so the partner can
 *   verify while answering it); it is in no answer, page, log or audit row;
 * - the `whsec_` signing secret is in the answer that creates or rotates it
 *   only; a rotation keeps the previous one signing until the overlap ends;
 * - status changes are compare-and-set: two verifications racing end in one
 *   `active` and one audit row.
 *
 * Not one transaction: each rule makes one row change, then its audit row,
 * as the partner-app rules do; the verification POST must follow a commit.
 */
import type { AuditAction } from '../audit/actions.js';
import dns from 'node:dns';
import net from 'node:net';
import type { Clock } from '../clock.js';
import type { Keyring } from '../crypto/keyring.js';
import { constantTimeEqual } from '../crypto/tokens.js';
import { isPublicAddress } from '../admin/logo.js';
import type { Actor } from '../admin/partner-apps.js';
import type { FailureLimiter } from '../oauth/failure-limiter.js';
import type { AuditStore } from '../store/audit.js';
import type { PartnerApp, PartnerAppStore } from '../store/partner-apps.js';
import type { WebhookSubscription, WebhookSubscriptionStore } from '../store/webhook-subscriptions.js';
import { isNotionEventType, NOTION_EVENT_TYPES, type NotionEventType } from './event-types.js';
import { checkWebhookUrl, OutboundError, type WebhookSender } from './outbound.js';
import {
  decryptSubscriptionSecret,
  encryptSubscriptionSecret,
  generateSigningSecret,
  generateVerificationToken,
  readSubscriptionSecrets,
} from './secrets.js';
import { AdminError } from '../http/refusal.js';

export const URL_MAX = 2000;
export const TOKEN_MAX = 500;
/** The verification POST answers while the admin waits: shorter than a delivery's 15 s. */
export const VERIFICATION_TIMEOUT_MS = 10_000;
export const DEFAULT_SIGNING_SECRET_OVERLAP_MS = 24 * 3600_000;
const RESOLVE_TIMEOUT_MS = 3_000;

export type SubscriptionErrorCode =
  | 'invalid_url'
  | 'invalid_events'
  | 'invalid_token'
  | 'unknown_client'
  | 'not_found'
  | 'not_pending'
  | 'already_active'
  | 'wrong_token'
  | 'rate_limited'
  | 'verification_post_failed';

/** Each refusal's HTTP status, in one table. */
export const SUBSCRIPTION_ERROR_STATUS: Record<SubscriptionErrorCode, number> = {
  invalid_url: 400,
  invalid_events: 400,
  invalid_token: 400,
  unknown_client: 404,
  not_found: 404,
  not_pending: 409,
  already_active: 409,
  wrong_token: 400,
  rate_limited: 429,
  verification_post_failed: 502,
};

export class SubscriptionError extends AdminError<SubscriptionErrorCode> {
  constructor(
    code: SubscriptionErrorCode,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(code, message, SUBSCRIPTION_ERROR_STATUS[code]);
    this.name = 'SubscriptionError';
  }
}

export interface SubscriptionDeps {
  subscriptions: WebhookSubscriptionStore;
  partnerApps: Pick<PartnerAppStore, 'findByClientId' | 'findById' | 'listForAdmin'>;
  audit: AuditStore;
  keyring: Keyring;
  clock: Clock;
  sender: WebhookSender;
  /** Where the sandboxes run: http to localhost / 127.0.0.1 allowed. */
  allowLoopbackHttp: boolean;
  limiter: FailureLimiter;
  /** Wrong tokens per (subscription, address) in the limiter's window; an address alone gets five times as many. */
  failureLimit: number;
  signingSecretOverlapMs: number;
  /** Tests resolve names themselves. */
  resolve?: (hostname: string) => Promise<string[]>;
}

export interface VerificationOutcome {
  delivered: boolean;
  /** Why not, in words safe to show an admin. */
  reason: string | null;
}

// ---------------------------------------------------------------------------
// Checks

export async function requirePartnerApp(deps: Pick<SubscriptionDeps, 'partnerApps'>, clientId: string): Promise<PartnerApp> {
  const app = clientId.length > 0 && clientId.length <= 200 ? await deps.partnerApps.findByClientId(clientId) : null;
  if (!app || app.clientId === null) throw new SubscriptionError('unknown_client', 'There is no partner app with this client id.');
  return app;
}

async function systemResolve(hostname: string): Promise<string[]> {
  const answers = await dns.promises.lookup(hostname, { all: true, verbatim: true });
  return answers.map((a) => a.address);
}

/**
 * The URL rules of ./outbound.ts, plus a first look at the host's addresses
 * so a private one is refused before anything is stored. The sender checks
 * again, and pins the address, on every POST: a name that does not resolve
 * now is accepted (its verification POST fails and says so).
 */
export async function requireWebhookUrl(deps: Pick<SubscriptionDeps, 'allowLoopbackHttp' | 'resolve'>, text: string): Promise<string> {
  if (text.length === 0 || text.length > URL_MAX)
    throw new SubscriptionError('invalid_url', `The webhook URL must be 1 to ${URL_MAX} characters.`);
  if (/[\s\u0000-\u001f\u007f-\u009f]/.test(text))
    throw new SubscriptionError('invalid_url', 'The webhook URL must not contain spaces or control characters.');
  let url: URL;
  try {
    url = checkWebhookUrl(text, { allowLoopbackHttp: deps.allowLoopbackHttp });
  } catch (err) {
    if (err instanceof OutboundError) throw new SubscriptionError('invalid_url', err.message);
    throw err;
  }
  if (url.protocol === 'http:') return text; // checkWebhookUrl let it through: loopback, in the sandbox
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  let addresses: string[];
  if (net.isIP(host)) addresses = [host];
  else {
    let timer: NodeJS.Timeout | undefined;
    try {
      addresses = await Promise.race([
        (deps.resolve ?? systemResolve)(host),
        new Promise<string[]>((resolve) => (timer = setTimeout(() => resolve([]), RESOLVE_TIMEOUT_MS))),
      ]);
    } catch {
      addresses = [];
    } finally {
      clearTimeout(timer);
    }
  }
  if (addresses.some((a) => !isPublicAddress(a)))
    throw new SubscriptionError('invalid_url', 'The webhook host resolves to an address that is not public.');
  return text;
}

/** Notion's event type names only, each once, in the order Notion's list has them. */
export function requireEvents(names: string[]): NotionEventType[] {
  if (names.length === 0) throw new SubscriptionError('invalid_events', 'Choose at least one event type.');
  const unknown = names.find((n) => !isNotionEventType(n));
  if (unknown !== undefined)
    throw new SubscriptionError(
      'invalid_events',
      `Unknown event type "${unknown.slice(0, 80)}"; event types are Notion's: ${NOTION_EVENT_TYPES.join(', ')}.`,
    );
  return NOTION_EVENT_TYPES.filter((t) => names.includes(t));
}

function requireTokenShape(token: string): void {
  if (token.length === 0 || token.length > TOKEN_MAX)
    throw new SubscriptionError('invalid_token', `The verification token must be 1 to ${TOKEN_MAX} characters.`);
}

async function requireSubscription(deps: Pick<SubscriptionDeps, 'subscriptions'>, id: string): Promise<WebhookSubscription> {
  const subscription = id.length <= 100 ? await deps.subscriptions.findById(id) : null;
  if (!subscription) throw new SubscriptionError('not_found', 'There is no webhook subscription with this id.');
  return subscription;
}

// ---------------------------------------------------------------------------
// Rules

function auditActor(actor: Actor) {
  return { type: actor.type, id: actor.id ?? null, label: actor.label ?? null };
}

type SubscriptionAuditAction = AuditAction extends infer A ? (A extends `webhook_subscription.${infer S}` ? S : never) : never;

async function audit(
  deps: Pick<SubscriptionDeps, 'audit' | 'clock'>,
  action: SubscriptionAuditAction,
  subscriptionId: string,
  actor: Actor,
  detail: Record<string, unknown>,
  outcome: 'success' | 'failure' = 'success',
): Promise<void> {
  await deps.audit.record(
    {
      action: `webhook_subscription.${action}`,
      actor: auditActor(actor),
      target: { type: 'webhook_subscription', id: subscriptionId },
      address: actor.address ?? null,
      outcome,
      detail,
    },
    deps.clock.now(),
  );
}

export async function createSubscription(
  deps: SubscriptionDeps,
  input: { clientId: string; url: string; events: string[] },
  actor: Actor,
): Promise<{ subscription: WebhookSubscription; app: PartnerApp; signingSecret: string; verification: VerificationOutcome }> {
  const app = await requirePartnerApp(deps, input.clientId);
  const url = await requireWebhookUrl(deps, input.url);
  const events = requireEvents(input.events);
  const verificationToken = generateVerificationToken();
  const signingSecret = generateSigningSecret();
  const created = await deps.subscriptions.create(
    {
      appId: app.id,
      url,
      events,
      encrypt: (id) => ({
        verificationTokenCiphertext: encryptSubscriptionSecret(deps.keyring, id, verificationToken),
        signingSecretCiphertext: encryptSubscriptionSecret(deps.keyring, id, signingSecret),
      }),
    },
    deps.clock.now(),
  );
  await audit(deps, 'created', created.id, actor, { clientId: app.clientId, url, events });
  const verification = await sendVerificationPost(deps, created, verificationToken, actor);
  const subscription = (await deps.subscriptions.findById(created.id)) ?? created;
  return { subscription, app, signingSecret, verification };
}

/** Notion's handshake: a POST whose only key is the token, unsigned. */
async function sendVerificationPost(
  deps: SubscriptionDeps,
  subscription: WebhookSubscription,
  verificationToken: string,
  actor: Actor,
): Promise<VerificationOutcome> {
  let reason: string | null;
  let status: number | null = null;
  try {
    const answer = await deps.sender.post(
      subscription.url,
      JSON.stringify({ verification_token: verificationToken }),
      {},
      VERIFICATION_TIMEOUT_MS,
    );
    status = answer.status;
    // The answer's body is never kept: a partner echoing its request would echo the token.
    reason = answer.status >= 200 && answer.status < 300 ? null : `The verification POST was answered with HTTP ${answer.status}.`;
  } catch (err) {
    if (!(err instanceof OutboundError)) throw err;
    reason = err.message;
  }
  // A partner that verified while answering is active already: then nothing is recorded on the row.
  await deps.subscriptions.setPendingReason(subscription.id, reason, deps.clock.now());
  await audit(
    deps,
    'verification_sent',
    subscription.id,
    actor,
    { url: subscription.url, status, reason },
    reason === null ? 'success' : 'failure',
  );
  return { delivered: reason === null, reason };
}

/** The token entered back: by an organisation admin, or by the partner itself (`onlyApp`: its own subscriptions only). */
export async function verifySubscription(
  deps: SubscriptionDeps,
  input: { id: string; token: string; onlyAppId?: string },
  actor: Actor,
): Promise<{ subscription: WebhookSubscription; changed: boolean }> {
  requireTokenShape(input.token);
  const address = actor.address ?? 'unknown';
  const keys = [
    { key: `webhook_verify:${input.id.slice(0, 100)}:${address}`, limit: deps.failureLimit },
    { key: `address:${address}`, limit: deps.failureLimit * 5 },
  ];
  const wait = await deps.limiter.blockedFor(keys);
  if (wait !== null) throw new SubscriptionError('rate_limited', 'Too many wrong verification tokens; try again later.', wait);
  const refuse = async (subscriptionId: string | null, error: SubscriptionError): Promise<never> => {
    await deps.limiter.recordFailure(keys);
    if (subscriptionId) await audit(deps, 'verification_failed', subscriptionId, actor, { reason: error.code }, 'failure');
    throw error;
  };
  const subscription = input.id.length <= 100 ? await deps.subscriptions.findById(input.id) : null;
  // Another partner's subscription is answered as unknown: ids of others are not confirmed.
  if (!subscription || (input.onlyAppId !== undefined && subscription.appId !== input.onlyAppId))
    return refuse(null, new SubscriptionError('not_found', 'There is no webhook subscription with this id.'));
  const secrets = await deps.subscriptions.secretsOf(subscription.id);
  if (!secrets) return refuse(null, new SubscriptionError('not_found', 'There is no webhook subscription with this id.'));
  const expected = decryptSubscriptionSecret(deps.keyring, subscription.id, secrets.verificationTokenCiphertext);
  if (!constantTimeEqual(expected, input.token))
    return refuse(subscription.id, new SubscriptionError('wrong_token', 'The verification token does not match this subscription.'));
  if (subscription.status === 'active') return { subscription, changed: false };
  if (subscription.status === 'disabled')
    throw new SubscriptionError('not_pending', 'This subscription is disabled: resend the verification POST, then verify it again.');
  const now = deps.clock.now();
  if (!(await deps.subscriptions.setStatus(subscription.id, ['pending'], 'active', now, { verifiedAt: now }))) {
    const current = await requireSubscription(deps, subscription.id);
    if (current.status === 'active') return { subscription: current, changed: false };
    throw new SubscriptionError('not_pending', 'This subscription is no longer pending.');
  }
  await audit(deps, 'verified', subscription.id, actor, { url: subscription.url });
  return { subscription: await requireSubscription(deps, subscription.id), changed: true };
}

/** Sends the same token again (Notion's "resend"); a disabled subscription goes back to pending. */
export async function resendVerification(
  deps: SubscriptionDeps,
  id: string,
  actor: Actor,
): Promise<{ subscription: WebhookSubscription; verification: VerificationOutcome }> {
  const subscription = await requireSubscription(deps, id);
  if (subscription.status === 'active') throw new SubscriptionError('already_active', 'This subscription is verified already.');
  if (subscription.status === 'disabled') {
    const now = deps.clock.now();
    if (await deps.subscriptions.setStatus(id, ['disabled'], 'pending', now, { disabledReason: null }))
      await audit(deps, 'reenabled', id, actor, { previousReason: subscription.disabledReason });
  }
  const secrets = await readSubscriptionSecrets({ store: deps.subscriptions, keyring: deps.keyring }, id, deps.clock.now());
  if (!secrets) throw new SubscriptionError('not_found', 'There is no webhook subscription with this id.');
  const verification = await sendVerificationPost(deps, subscription, secrets.verificationToken, actor);
  return { subscription: await requireSubscription(deps, id), verification };
}

export async function rotateSigningSecret(
  deps: SubscriptionDeps,
  id: string,
  actor: Actor,
): Promise<{ subscription: WebhookSubscription; signingSecret: string; previousExpiresAt: Date }> {
  await requireSubscription(deps, id);
  const signingSecret = generateSigningSecret();
  const now = deps.clock.now();
  const previousExpiresAt = new Date(now.getTime() + deps.signingSecretOverlapMs);
  const ciphertext = encryptSubscriptionSecret(deps.keyring, id, signingSecret);
  if (!(await deps.subscriptions.rotateSigningSecret(id, ciphertext, previousExpiresAt, now)))
    throw new SubscriptionError('not_found', 'There is no webhook subscription with this id.');
  await audit(deps, 'secret_rotated', id, actor, { previousSecretExpiresAt: previousExpiresAt.toISOString() });
  return { subscription: await requireSubscription(deps, id), signingSecret, previousExpiresAt };
}

export async function deleteSubscription(deps: SubscriptionDeps, id: string, actor: Actor): Promise<WebhookSubscription> {
  const subscription = await requireSubscription(deps, id);
  if (!(await deps.subscriptions.delete(id))) throw new SubscriptionError('not_found', 'There is no webhook subscription with this id.');
  await audit(deps, 'deleted', id, actor, { url: subscription.url, events: subscription.events });
  return subscription;
}

export async function findSubscription(deps: SubscriptionDeps, id: string): Promise<WebhookSubscription> {
  return requireSubscription(deps, id);
}

/** Every subscription, or one app's; with each app's client id for the wire. */
export async function listSubscriptions(
  deps: Pick<SubscriptionDeps, 'subscriptions' | 'partnerApps'>,
  clientId?: string,
): Promise<Array<{ subscription: WebhookSubscription; clientId: string }>> {
  if (clientId !== undefined) {
    const app = await requirePartnerApp(deps, clientId);
    return (await deps.subscriptions.listForApp(app.id)).map((subscription) => ({ subscription, clientId: app.clientId! }));
  }
  const clientIds = new Map((await deps.partnerApps.listForAdmin()).map((a) => [a.id, a.clientId ?? ''] as const));
  return (await deps.subscriptions.listAll()).map((subscription) => ({ subscription, clientId: clientIds.get(subscription.appId) ?? '' }));
}

export async function clientIdOf(deps: Pick<SubscriptionDeps, 'partnerApps'>, subscription: WebhookSubscription): Promise<string> {
  return (await deps.partnerApps.findById(subscription.appId))?.clientId ?? '';
}
