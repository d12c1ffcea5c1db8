/**
 * Who hears of a change. A subscription belongs to an integration; in a
 * workspace that integration is one bot per person who authorised it (public)
 * or its single bot (internal). A subscription receives an event only when one
 * of those bots reaches the entity (reach.ts), is still installed and holds
 * the capability that reads it; `accessible_by` then lists exactly those bots
 * and, for a public integration, the people who authorised them, which is how
 * a broker like Gatehouse tells whose grant an event concerns.
 */
import type { SandboxCapability } from './capabilities.js';
import { isReached } from './reach.js';
import type { IntegrationRecord, SandboxState, WebhookSubscriptionRecord } from './state.js';
import type { WebhookAudienceMember, WebhookAuthor } from './webhook-payloads.js';

/** Bots with a token left: revoking a connection's tokens (or removing its person) uninstalls it. */
export function installedBotIds(state: SandboxState): Set<string> {
  return new Set(Object.values(state.tokens).map((t) => t.botId));
}

/** The bots of the subscription's integration in one workspace, installed and allowed to read `capability`. */
export function subscriptionBots(
  state: SandboxState,
  subscription: WebhookSubscriptionRecord,
  workspaceId: string,
  installed: Set<string>,
  capability: SandboxCapability,
): IntegrationRecord[] {
  const target = subscription.integration;
  const workspace = state.workspaces.find((w) => w.id === workspaceId);
  return Object.values(state.integrations).filter(
    (bot) =>
      bot.workspaceId === workspaceId &&
      (target.type === 'public' ? bot.kind === 'public' && bot.clientId === target.clientId : bot.botId === target.botId) &&
      installed.has(bot.botId) &&
      (bot.personId === null || workspace?.memberIds.includes(bot.personId) === true) &&
      bot.capabilities.includes(capability),
  );
}

/** Those of `bots` that reach `id`, or reached it before the change (`reachedBefore`, for moves). */
export function botsReaching(
  state: SandboxState,
  bots: IntegrationRecord[],
  id: string,
  reachedBefore: ReadonlySet<string> | undefined,
): IntegrationRecord[] {
  return bots.filter((bot) => reachedBefore?.has(bot.botId) === true || isReached(state, bot, id));
}

/** Every bot of a workspace that reaches `id` now: taken before a move, so the old audience still hears of it. */
export function reachingBotIds(state: SandboxState, workspaceId: string, id: string): Set<string> {
  const ids = new Set<string>();
  for (const bot of Object.values(state.integrations)) if (bot.workspaceId === workspaceId && isReached(state, bot, id)) ids.add(bot.botId);
  return ids;
}

/** The people who authorised the reaching bots (once each), then the bots. */
export function accessibleBy(bots: IntegrationRecord[]): WebhookAudienceMember[] {
  const persons = [...new Set(bots.flatMap((bot) => (bot.personId === null ? [] : [bot.personId])))];
  return [...persons.map((id) => ({ id, type: 'person' as const })), ...bots.map((bot) => ({ id: bot.botId, type: 'bot' as const }))];
}

/** Sandbox records keep an author id only; people are persons, anything else is a bot. */
export function authorOf(state: SandboxState, id: string): WebhookAuthor {
  return state.persons.some((p) => p.id === id) ? { id, type: 'person' } : { id, type: 'bot' };
}
