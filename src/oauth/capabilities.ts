/**
 * Capabilities: one list of names used everywhere (command line, `scope`,
 * token answers, introspection, API). Content and comment capabilities
 * combine freely; a grant holds exactly one user-information level.
 */
export const CONTENT_CAPABILITIES = ['read_content', 'update_content', 'insert_content', 'read_comments', 'insert_comments'] as const;
export const USER_INFO_LEVELS = ['no_user_info', 'user_info_without_email', 'user_info_with_email'] as const;
export const CAPABILITIES = [...CONTENT_CAPABILITIES, ...USER_INFO_LEVELS] as const;

export type Capability = (typeof CAPABILITIES)[number];
export type UserInfoLevel = (typeof USER_INFO_LEVELS)[number];

/** The words on the consent screen, exactly as outside tests find them. */
export const CAPABILITY_LABELS: Record<Capability, string> = {
  read_content: 'Read content',
  update_content: 'Update content',
  insert_content: 'Insert content',
  read_comments: 'Read comments',
  insert_comments: 'Insert comments',
  no_user_info: 'No user information',
  user_info_without_email: 'Read user information without email addresses',
  user_info_with_email: 'Read user information including email addresses',
};

export function isCapability(value: unknown): value is Capability {
  return typeof value === 'string' && (CAPABILITIES as readonly string[]).includes(value);
}

export function userInfoLevelOf(capabilities: readonly string[]): UserInfoLevel {
  if (capabilities.includes('user_info_with_email')) return 'user_info_with_email';
  if (capabilities.includes('user_info_without_email')) return 'user_info_without_email';
  return 'no_user_info';
}

const LEVEL_RANK: Record<UserInfoLevel, number> = { no_user_info: 0, user_info_without_email: 1, user_info_with_email: 2 };

/**
 * Normalises a capability list to the canonical order with exactly one
 * user-information level (the highest named; none named means none).
 */
export function normaliseCapabilities(capabilities: readonly Capability[]): Capability[] {
  const content = CONTENT_CAPABILITIES.filter((c) => capabilities.includes(c));
  return [...content, userInfoLevelOf(capabilities)];
}

export type ScopeResult = { ok: true; capabilities: Capability[] } | { ok: false; reason: string };

/**
 * What an authorisation request asks for: without `scope`, the app's
 * registered capabilities; with it, a subset (RFC 6749 §3.3) whose user level
 * may be lower than the app's, never higher.
 */
export function requestedCapabilities(registered: readonly Capability[], scope: string | undefined): ScopeResult {
  const app = normaliseCapabilities(registered);
  if (scope === undefined) return { ok: true, capabilities: app };
  const names = scope.split(' ').filter(Boolean);
  if (names.length === 0) return { ok: true, capabilities: app };
  const unknown = names.find((n) => !isCapability(n));
  if (unknown !== undefined) return { ok: false, reason: `unknown capability "${unknown.slice(0, 40)}"` };
  const asked = names as Capability[];
  const notRegistered = asked.find((c) => (CONTENT_CAPABILITIES as readonly string[]).includes(c) && !app.includes(c));
  if (notRegistered) return { ok: false, reason: `capability "${notRegistered}" is not registered for this app` };
  const askedLevels = asked.filter((c) => (USER_INFO_LEVELS as readonly string[]).includes(c)) as UserInfoLevel[];
  const appLevel = userInfoLevelOf(app);
  // Several levels named: RFC 6749 §3.3 lets the server grant less than asked (and say so in the
  // token's scope), so the lowest one named is granted rather than the request refused.
  const level = askedLevels.length > 0 ? lowestLevel(askedLevels) : appLevel;
  if (LEVEL_RANK[level] > LEVEL_RANK[appLevel]) return { ok: false, reason: `user-information level "${level}" is above the app's` };
  const content = CONTENT_CAPABILITIES.filter((c) => asked.includes(c));
  return { ok: true, capabilities: [...content, level] };
}

function lowestLevel(levels: readonly UserInfoLevel[]): UserInfoLevel {
  return levels.reduce((low, level) => (LEVEL_RANK[level] < LEVEL_RANK[low] ? level : low));
}

export function toScope(capabilities: readonly string[]): string {
  return capabilities.join(' ');
}

export function isSubset(inner: readonly string[], outer: readonly string[]): boolean {
  return inner.every((c) => outer.includes(c));
}

/**
 * What a token may do now: what it was issued with, narrowed by what its
 * grant holds today. A person who re-authorises with fewer capabilities
 * narrows tokens already issued, at once (never widens them).
 */
export function effectiveCapabilities(token: readonly string[], grant: readonly string[]): Capability[] {
  const content = CONTENT_CAPABILITIES.filter((c) => token.includes(c) && grant.includes(c));
  const a = userInfoLevelOf(token);
  const b = userInfoLevelOf(grant);
  return [...content, LEVEL_RANK[a] <= LEVEL_RANK[b] ? a : b];
}
