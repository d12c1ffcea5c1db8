/**
 * Notion's webhooks in: one intake for Gatehouse's public integration
 * (`public`: every connected workspace's events arrive at one URL under one
 * token) and one per internal integration (its own subscription and token).
 *
 * Notion delivers at most once and offers no replay, so an event is
 * acknowledged only after it is durably stored, and nothing else happens
 * before the answer:
 *
 *   requireJson → parseBody → verification POST? ──yes──▶ keepVerificationToken
 *                                  │no                    (refused once confirmed)
 *                                  ▼
 *                     requireValidSignature (under the intake's token)
 *                                  ▼
 *                     readEvent (the fields fan-out needs)
 *                                  ▼
 *              storeOnce: event + its fan-out job in one transaction;
 *              a repeated Notion event id stores nothing and answers 200
 *
 * A verification POST is a JSON object whose only key is a string
 * `verification_token`; anything with more fields is an event and must pass
 * the signature check. Once an event signed with the kept token has arrived,
 * the token is confirmed and a new verification POST is refused, so nobody
 * can swap the key and forge events; only an organisation admin's reset
 * (audited) opens the intake again.
 */
import { verifyWebhookSignature } from '@notionhq/client';
import type { Transaction } from 'kysely';
import { z } from 'zod';
import type { Clock } from '../clock.js';
import type { Keyring } from '../crypto/keyring.js';
import type { AuditStore } from '../store/audit.js';
import type { Database } from '../store/schema.js';
import type { IncomingEvent, WebhookEventStore } from '../store/webhook-events.js';

export const PUBLIC_INTAKE_ID = 'public';

export type IntakeRefusal =
  'unsupported_media_type' | 'malformed' | 'no_token' | 'bad_signature' | 'already_confirmed' | 'not_an_event' | 'unknown_intake';

/** Each refusal with its HTTP status and the message the sender sees. */
export const INTAKE_REFUSALS: Record<IntakeRefusal, { status: number; message: string }> = {
  unsupported_media_type: { status: 415, message: 'Webhooks are accepted as application/json only.' },
  malformed: { status: 400, message: 'The body is not a JSON object.' },
  no_token: { status: 401, message: 'This intake has no verification token yet: send the verification request first.' },
  bad_signature: { status: 401, message: 'The X-Notion-Signature header does not match the body.' },
  already_confirmed: {
    status: 409,
    message: 'This intake already has a confirmed verification token; an organisation admin must reset it first.',
  },
  not_an_event: { status: 400, message: 'The body is signed but is not a Notion webhook event.' },
  unknown_intake: { status: 404, message: 'There is no webhook intake here.' },
};

export class IntakeRefused extends Error {
  constructor(readonly reason: IntakeRefusal) {
    super(INTAKE_REFUSALS[reason].message);
    this.name = 'IntakeRefused';
  }
}

export interface IntakeDeps {
  events: WebhookEventStore;
  audit: AuditStore;
  keyring: Keyring;
  clock: Clock;
  /** Adds the event's fan-out job to the transaction that stores the event. */
  enqueueFanOut: (trx: Transaction<Database>, eventId: string) => Promise<void>;
}

export interface IntakeRequest {
  intakeId: string;
  contentType: string | undefined;
  rawBody: Buffer;
  signature: string | undefined;
  address: string | null;
}

export type IntakeOutcome = { kind: 'verification_token_kept' } | { kind: 'event_stored'; eventId: string } | { kind: 'repeat' };

export const intakeAad = (intakeId: string) => `notion_webhook_intake:${intakeId}`;

export function requireJson(contentType: string | undefined): void {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') throw new IntakeRefused('unsupported_media_type');
}

export function parseBody(raw: Buffer): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new IntakeRefused('malformed');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new IntakeRefused('malformed');
  return parsed as Record<string, unknown>;
}

/** The verification POST: exactly one key, a string `verification_token`. */
export function verificationTokenOf(body: Record<string, unknown>): string | null {
  const keys = Object.keys(body);
  return keys.length === 1 && keys[0] === 'verification_token' && typeof body.verification_token === 'string'
    ? body.verification_token
    : null;
}

async function keepVerificationToken(req: IntakeRequest, token: string, deps: IntakeDeps): Promise<IntakeOutcome> {
  if (token.length === 0 || token.length > 512) throw new IntakeRefused('malformed');
  const now = deps.clock.now();
  const kept = await deps.events.storeVerificationToken(req.intakeId, deps.keyring.encrypt(token, intakeAad(req.intakeId)), now);
  await deps.audit.record(
    {
      action: kept ? 'webhook_intake.token_received' : 'webhook_intake.token_refused',
      actor: { type: 'system', label: 'Notion webhooks' },
      target: { type: 'webhook_intake', id: req.intakeId },
      address: req.address,
      outcome: kept ? 'success' : 'failure',
    },
    now,
  );
  if (!kept) throw new IntakeRefused('already_confirmed');
  return { kind: 'verification_token_kept' };
}

export async function requireValidSignature(req: IntakeRequest, deps: IntakeDeps): Promise<void> {
  const intake = await deps.events.findIntake(req.intakeId);
  if (!intake?.verificationTokenCiphertext) throw new IntakeRefused('no_token');
  const verificationToken = deps.keyring.decrypt(intake.verificationTokenCiphertext, intakeAad(req.intakeId));
  if (!(await verifyWebhookSignature({ body: req.rawBody, signature: req.signature, verificationToken })))
    throw new IntakeRefused('bad_signature');
}

const id = z.string().min(1).max(200);
/** The fields every Notion event carries that fan-out reads; the rest is kept as sent. */
const eventSchema = z.object({
  id,
  type: z.string().regex(/^[a-z_]+(\.[a-z_]+)+$/),
  timestamp: z.iso.datetime({ offset: true }),
  workspace_id: id,
  entity: z.object({ id, type: z.string().min(1).max(50) }),
});

export function readEvent(intakeId: string, body: Record<string, unknown>): IncomingEvent {
  const parsed = eventSchema.safeParse(body);
  if (!parsed.success) throw new IntakeRefused('not_an_event');
  const event = parsed.data;
  return {
    intakeId,
    notionEventId: event.id,
    workspaceId: event.workspace_id,
    type: event.type,
    entityId: event.entity.id,
    entityType: event.entity.type,
    occurredAt: new Date(event.timestamp),
    body,
  };
}

/** The whole intake, in the order drawn above; nothing is written before every check passed. */
export async function receiveNotionWebhook(req: IntakeRequest, deps: IntakeDeps): Promise<IntakeOutcome> {
  requireJson(req.contentType);
  const body = parseBody(req.rawBody);
  const token = verificationTokenOf(body);
  if (token !== null) return keepVerificationToken(req, token, deps);
  await requireValidSignature(req, deps);
  const event = readEvent(req.intakeId, body);
  const stored = await deps.events.insertOnce(event, deps.clock.now(), deps.enqueueFanOut);
  return stored ? { kind: 'event_stored', eventId: stored.id } : { kind: 'repeat' };
}

/** Retention: events older than the tunable go (replays reach back that far and no further). */
export async function purgeWebhookEvents(
  events: Pick<WebhookEventStore, 'purgeBefore'>,
  clock: Clock,
  tunables: { webhookEventRetentionDays: number },
): Promise<number> {
  return events.purgeBefore(new Date(clock.now().getTime() - tunables.webhookEventRetentionDays * 86_400_000));
}

/** The token Notion sent an intake, for organisation admins to paste into Notion's settings. */
export async function intakeTokenOf(
  intakeId: string,
  deps: Pick<IntakeDeps, 'events' | 'keyring'>,
): Promise<{ token: string | null; receivedAt: Date | null; confirmedAt: Date | null }> {
  const intake = await deps.events.findIntake(intakeId);
  if (!intake?.verificationTokenCiphertext) return { token: null, receivedAt: null, confirmedAt: null };
  return {
    token: deps.keyring.decrypt(intake.verificationTokenCiphertext, intakeAad(intakeId)),
    receivedAt: intake.tokenReceivedAt,
    confirmedAt: intake.confirmedAt,
  };
}
