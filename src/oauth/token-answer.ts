/**
 * The token answer: Notion's fields (as @notionhq/client's OauthTokenResponse
 * types them) plus the RFC's `expires_in` and `scope`. `bot_id` is the
 * grant's own id, so a partner keyed on it (Notion's advice) keeps one row
 * per grant.
 */
import { randomUUID } from 'node:crypto';
import type { OauthTokenResponse } from '@notionhq/client';
import type { Grant } from '../store/grants.js';
import type { Workspace } from '../store/workspaces.js';
import { toScope, userInfoLevelOf } from './capabilities.js';

/**
 * @notionhq/client types a full owner as always carrying an email; under
 * user_info_without_email Gatehouse sends the name without the email (the
 * SDK reads it fine: it does not validate answers), so the person's `email`
 * is optional here.
 */
type NotionOwnerUser =
  | { object: 'user'; id: string }
  | { object: 'user'; id: string; name: string | null; avatar_url: string | null; type: 'person'; person: { email?: string } };

/** The person's Notion user as the grant's user-information level allows: email only under user_info_with_email. */
export function shapeOwnerUser(notionUser: Record<string, unknown>, capabilities: readonly string[]): NotionOwnerUser {
  const id = String(notionUser.id ?? '');
  const level = userInfoLevelOf(capabilities);
  if (level === 'no_user_info') return { object: 'user', id };
  const person = (notionUser.person ?? {}) as { email?: unknown };
  return {
    object: 'user',
    id,
    name: typeof notionUser.name === 'string' ? notionUser.name : null,
    avatar_url: typeof notionUser.avatar_url === 'string' ? notionUser.avatar_url : null,
    type: 'person',
    person: level === 'user_info_with_email' && typeof person.email === 'string' ? { email: person.email } : {},
  };
}

export type TokenAnswer = Omit<OauthTokenResponse, 'owner'> & {
  owner: { type: 'user'; user: NotionOwnerUser };
  expires_in: number;
  scope: string;
};

export function tokenAnswer(args: {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  grant: Grant;
  capabilities: string[];
  workspace: Workspace;
  notionUser: Record<string, unknown>;
}): TokenAnswer {
  return {
    access_token: args.accessToken,
    token_type: 'bearer',
    refresh_token: args.refreshToken,
    bot_id: args.grant.id,
    workspace_id: args.workspace.id,
    workspace_name: args.workspace.name,
    workspace_icon: args.workspace.icon,
    owner: { type: 'user', user: shapeOwnerUser(args.notionUser, args.capabilities) },
    duplicated_template_id: null,
    request_id: randomUUID(),
    expires_in: args.expiresIn,
    scope: toScope(args.capabilities),
  };
}
