/** Users and search: who the integration is, who it may see, and what it may find. */
import type { Router } from 'express';
import type { ListUsersResponse, UserObjectResponse } from '@notionhq/client';
import { requireCapability, requireUserInfo, userInfoLevel } from './capabilities.js';
import { objectNotFound } from './errors.js';
import { paginate, parseCursor, parsePageSize, search } from './query.js';
import { serializeBot, serializePerson } from './serialize.js';
import type { IntegrationRecord } from './state.js';
import { body, call, pathId } from './api-call.js';
import type { ApiDeps } from './api-call.js';

export function userAndSearchRoutes(router: Router, deps: ApiDeps): void {
  const { state } = deps.store;

  // Users
  router.get('/users/me', (_req, res) => {
    const { view, integration } = call(res);
    const me: UserObjectResponse = serializeBot(view.state, integration, userInfoLevel(integration.capabilities));
    res.json(me);
  });

  router.get('/users', (req, res) => {
    const { integration } = call(res);
    requireUserInfo(integration.capabilities);
    const members = workspaceMembers(integration);
    const page = paginate(members, (u) => u.id, parseCursor(req.query.start_cursor, 'query'), parsePageSize(req.query.page_size, 'query'));
    const list: ListUsersResponse = { object: 'list', type: 'user', user: {}, ...page };
    res.json(list);
  });

  router.get('/users/:user_id', (req, res) => {
    const { integration } = call(res);
    requireUserInfo(integration.capabilities);
    const id = pathId(req.params.user_id, 'user_id');
    const user = workspaceMembers(integration).find((u) => u.id === id);
    if (!user) throw objectNotFound('user', id);
    res.json(user);
  });

  function workspaceMembers(integration: IntegrationRecord): UserObjectResponse[] {
    const level = userInfoLevel(integration.capabilities);
    const workspace = state.workspaces.find((w) => w.id === integration.workspaceId);
    const persons = state.persons.filter((p) => workspace?.memberIds.includes(p.id)).map((p) => serializePerson(p, level));
    return [...persons, serializeBot(state, integration, level)];
  }

  // Search
  router.post('/search', (req, res) => {
    const { view, integration } = call(res);
    requireCapability(integration.capabilities, 'read_content');
    res.json(search(view, integration, body(req)));
  });
}
