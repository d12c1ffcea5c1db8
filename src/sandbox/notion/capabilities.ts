/**
 * Notion's integration capabilities (developers.notion.com/reference/capabilities):
 * content and comment capabilities combine freely; exactly one user-information
 * level applies (the highest named, "no user information" when none is).
 */
import { restricted } from './errors.js';

export const SANDBOX_CAPABILITIES = [
  'read_content',
  'update_content',
  'insert_content',
  'read_comments',
  'insert_comments',
  'no_user_info',
  'user_info_without_email',
  'user_info_with_email',
] as const;

export type SandboxCapability = (typeof SANDBOX_CAPABILITIES)[number];
export type UserInfoLevel = 'no_user_info' | 'user_info_without_email' | 'user_info_with_email';

export function isCapability(value: unknown): value is SandboxCapability {
  return typeof value === 'string' && (SANDBOX_CAPABILITIES as readonly string[]).includes(value);
}

export function userInfoLevel(capabilities: readonly SandboxCapability[]): UserInfoLevel {
  if (capabilities.includes('user_info_with_email')) return 'user_info_with_email';
  if (capabilities.includes('user_info_without_email')) return 'user_info_without_email';
  return 'no_user_info';
}

/** A missing capability is 403 restricted_resource (developers.notion.com/reference/capabilities); unreached content is 404 instead. */
export function requireCapability(capabilities: readonly SandboxCapability[], needed: SandboxCapability): void {
  if (!capabilities.includes(needed)) throw restricted();
}

/** The users endpoints need some user information (get-user: 403 without it). */
export function requireUserInfo(capabilities: readonly SandboxCapability[]): void {
  if (userInfoLevel(capabilities) === 'no_user_info') throw restricted();
}
