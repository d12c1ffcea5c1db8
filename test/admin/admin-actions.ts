/**
 * Every admin page and admin API action, with who may perform it: the rows
 * of admin-authorization-matrix.test.ts. Paths and bodies read the ids the
 * suite creates in its beforeAll, when each cell runs.
 */
import type { Person } from '../../src/store/people.js';
import type { RegisteredApp } from '../support/partner.js';
import { writeActions } from './admin-write-actions.js';

export type ActorName = 'signedOut' | 'member' | 'owner' | 'otherOwner' | 'orgAdmin' | 'partnerToken' | 'otherAdminToken';

export interface MatrixIds {
  acmeId: string;
  adaAdminTokenId: string;
  ben: Person;
  convertibleId: string;
  convertibleViaPageId: string;
  disconnectableId: string;
  disconnectableViaPageId: string;
  grantId: string;
  integrationId: string;
  pageId: string;
  partner: RegisteredApp;
  sideConnectionId: string;
}

export interface Action {
  name: string;
  kind: 'page' | 'api';
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: () => string;
  body?: () => Record<string, unknown>;
  allowed: ActorName[];
}

/** The actions that read: every caller may try them any number of times. */
function readActions(ids: () => MatrixIds): Action[] {
  const api = '/api/admin/v1';
  const people: ActorName[] = ['member', 'owner', 'otherOwner', 'orgAdmin', 'otherAdminToken'];
  const sessions: ActorName[] = ['member', 'owner', 'otherOwner', 'orgAdmin'];
  const ownerish: ActorName[] = ['owner', 'orgAdmin'];
  return [
    // ---- reads ----
    { name: 'API list workspaces', kind: 'api', method: 'GET', path: () => `${api}/workspaces`, allowed: people },
    { name: 'API list partner apps', kind: 'api', method: 'GET', path: () => `${api}/apps`, allowed: ['orgAdmin'] },
    { name: 'API list grants', kind: 'api', method: 'GET', path: () => `${api}/grants`, allowed: people },
    {
      name: 'API one grant',
      kind: 'api',
      method: 'GET',
      path: () => `${api}/grants/${ids().grantId}`,
      allowed: ['member', 'owner', 'orgAdmin', 'otherAdminToken'],
    },
    {
      name: 'API workspace connections',
      kind: 'api',
      method: 'GET',
      path: () => `${api}/workspaces/${ids().acmeId}/connections`,
      allowed: ownerish,
    },
    {
      name: 'API users with access',
      kind: 'api',
      method: 'GET',
      path: () => `${api}/workspaces/${ids().acmeId}/connections/${ids().partner.app.id}/users`,
      allowed: ownerish,
    },
    { name: 'API read policy', kind: 'api', method: 'GET', path: () => `${api}/workspaces/${ids().acmeId}/policy`, allowed: ownerish },
    {
      name: 'API read agent policy',
      kind: 'api',
      method: 'GET',
      path: () => `${api}/workspaces/${ids().acmeId}/agent-policy`,
      allowed: ownerish,
    },
    {
      name: 'API approved list',
      kind: 'api',
      method: 'GET',
      path: () => `${api}/workspaces/${ids().acmeId}/approved-apps`,
      allowed: ownerish,
    },
    {
      name: 'API approval requests',
      kind: 'api',
      method: 'GET',
      path: () => `${api}/workspaces/${ids().acmeId}/approval-requests`,
      allowed: ownerish,
    },
    { name: 'API members', kind: 'api', method: 'GET', path: () => `${api}/workspaces/${ids().acmeId}/members`, allowed: ownerish },
    {
      name: 'API list internal integrations',
      kind: 'api',
      method: 'GET',
      path: () => `${api}/integrations`,
      allowed: ['owner', 'otherOwner'],
    },
    {
      name: 'API one internal integration',
      kind: 'api',
      method: 'GET',
      path: () => `${api}/integrations/${ids().integrationId}`,
      allowed: ['owner'],
    },
    { name: 'API audit log', kind: 'api', method: 'GET', path: () => `${api}/audit`, allowed: ['owner', 'otherOwner', 'orgAdmin'] },
    { name: 'API audit log of Acme', kind: 'api', method: 'GET', path: () => `${api}/audit?workspace=${ids().acmeId}`, allowed: ownerish },
    { name: 'API own admin tokens', kind: 'api', method: 'GET', path: () => `${api}/admin-tokens`, allowed: people },
    { name: 'page Connections', kind: 'page', method: 'GET', path: () => '/connections', allowed: ['owner', 'otherOwner', 'orgAdmin'] },
    {
      name: 'page Connections of Acme',
      kind: 'page',
      method: 'GET',
      path: () => `/connections?workspace=${ids().acmeId}`,
      allowed: ownerish,
    },
    { name: 'page My connections', kind: 'page', method: 'GET', path: () => '/connections/mine', allowed: sessions },
    {
      name: 'page View users with access',
      kind: 'page',
      method: 'GET',
      path: () => `/connections/${ids().acmeId}/apps/${ids().partner.app.id}`,
      allowed: ownerish,
    },
    { name: 'page partner apps', kind: 'page', method: 'GET', path: () => '/admin/apps', allowed: ['orgAdmin'] },
    { name: 'page internal integrations', kind: 'page', method: 'GET', path: () => '/integrations', allowed: ['owner', 'otherOwner'] },
    {
      name: 'page one internal integration',
      kind: 'page',
      method: 'GET',
      path: () => `/integrations/${ids().integrationId}`,
      allowed: ['owner'],
    },
    // A member opens these from their own page index (their own grants; internal integrations read-only).
    {
      name: 'page pages of Acme',
      kind: 'page',
      method: 'GET',
      path: () => `/workspaces/${ids().acmeId}/pages`,
      allowed: ['owner', 'member'],
    },
    {
      name: "page one page's connections",
      kind: 'page',
      method: 'GET',
      path: () => `/workspaces/${ids().acmeId}/pages/${ids().pageId}`,
      allowed: ['owner', 'member'],
    },
    { name: 'page audit log', kind: 'page', method: 'GET', path: () => '/admin/audit', allowed: ['owner', 'otherOwner', 'orgAdmin'] },
    {
      name: 'page audit export',
      kind: 'page',
      method: 'GET',
      path: () => '/admin/audit/export',
      allowed: ['owner', 'otherOwner', 'orgAdmin'],
    },
    { name: 'page admin tokens', kind: 'page', method: 'GET', path: () => '/admin/tokens', allowed: sessions },
  ];
}

/** Reads first, then writes that keep the fixtures usable, then writes that destroy state. */
export function adminActions(ids: () => MatrixIds): Action[] {
  return [...readActions(ids), ...writeActions(ids)];
}
