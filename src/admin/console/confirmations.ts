/**
 * What each destructive button of the console will do, counted from the
 * store for its confirm step (../../http/confirmation.ts): the sentences the
 * confirm page shows before anything changes.
 */
import type { Response } from 'express';
import { renderConfirmation } from '../../http/confirmation.js';
import type { Workspace } from '../../store/workspaces.js';
import type { ConsoleContext } from './context.js';

export { confirmField, renderConfirmation } from '../../http/confirmation.js';

/** "Disconnect" of an internal integration on a page's Connections: what the second press does. */
export function confirmPageDisconnect(res: Response, args: { app: { id: string; name: string }; title: string; here: string }): void {
  renderConfirmation(res, {
    heading: `Disconnect ${args.app.name} from ${args.title}?`,
    consequences: [`${args.app.name} can no longer reach ${args.title} or the pages inside it through this connection.`],
    action: `${args.here}/connections/${encodeURIComponent(args.app.id)}/disconnect`,
    button: { text: 'Disconnect', label: `Disconnect ${args.app.name}` },
    cancelHref: args.here,
  });
}

/** "1 connection", "3 connections". */
export function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** "a, b and c". */
export function listText(parts: string[]): string {
  if (parts.length <= 1) return parts.join('');
  return `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}`;
}

function grantsText(grants: Array<{ personId: string }>): string {
  const people = new Set(grants.map((g) => g.personId)).size;
  return `revokes ${count(grants.length, 'connection')} of ${count(people, 'person', 'people')}`;
}

/** "Disconnect workspace from Gatehouse": every grant, every Notion connection, every internal integration's pages. */
export async function workspaceDisconnectConsequences(deps: ConsoleContext, workspace: Workspace): Promise<string[]> {
  const { stores } = deps;
  const grants = await stores.grants.listActiveForWorkspace(workspace.id);
  // The ones disconnectWorkspace acts on: live, or disconnected with a credential not yet destroyed.
  const notion = (await stores.connections.listForWorkspace(workspace.id)).filter(
    (c) => c.status !== 'disconnected' || c.credentialCiphertext !== null,
  );
  let integrations = 0;
  for (const integration of await stores.internalIntegrations.listForWorkspaces([workspace.id]))
    if ((await stores.internalIntegrations.listPages(integration.id)).length > 0) integrations++;
  const parts = [grantsText(grants), `removes ${count(notion.length, 'Notion connection')}`];
  if (integrations > 0) parts.push(`disconnects ${count(integrations, 'internal integration')} from every page`);
  return [
    `Disconnecting ${workspace.name} from Gatehouse ${listText(parts)}.`,
    'Partners\' tokens stop working at once. The workspace stays listed as disconnected: anyone can connect it again with "Connect a workspace".',
  ];
}

/** "Disconnect" / "Disconnect all users" of one partner app. */
export async function appDisconnectConsequences(
  deps: ConsoleContext,
  workspace: Workspace,
  app: { id: string; name: string },
): Promise<string[]> {
  const grants = (await deps.stores.grants.listActiveForWorkspace(workspace.id)).filter((g) => g.appId === app.id);
  const emails = [...new Set(grants.map((g) => g.personEmail))].sort();
  return [
    `Disconnecting ${app.name} from ${workspace.name} ${grantsText(grants)}${emails.length > 0 ? ` (${listText(emails)})` : ''}.`,
    `Its tokens stop working at once. People can connect ${app.name} again later${
      workspace.installPolicy === 'approved_only' ? ' while it is on the approved list' : ''
    }.`,
  ];
}

/** "Revoke access" for one person's grant (owners), or "Disconnect" on "My connections" (one's own). */
export function grantRevokeConsequences(grant: { appName: string; workspaceName: string; personEmail: string }, own: boolean): string[] {
  const whose = own ? 'your connection' : `${grant.personEmail}'s connection`;
  return [
    `This revokes ${whose} of ${grant.appName} to ${grant.workspaceName}: 1 connection of 1 person. ${grant.appName}'s tokens for it stop working at once.`,
    own
      ? `You can connect ${grant.appName} again from the app later.`
      : `${grant.personEmail} can connect it again later, unless the install policy stops them.`,
  ];
}

/** "Disconnect" an internal integration from every page of the workspace. */
export function integrationDisconnectConsequences(name: string, workspace: Workspace, pages: number): string[] {
  return [
    `This disconnects ${name} from ${count(pages, 'page')} of ${workspace.name}: its token reaches nothing afterwards.`,
    'The integration stays: an owner can connect it to pages again.',
  ];
}

/** "Remove from approved list". */
export async function unapproveConsequences(
  deps: ConsoleContext,
  workspace: Workspace,
  app: { id: string; name: string },
): Promise<string[]> {
  const grants = (await deps.stores.grants.listActiveForWorkspace(workspace.id)).filter((g) => g.appId === app.id);
  return [
    `This removes ${app.name} from the approved list of ${workspace.name}.`,
    workspace.installPolicy === 'approved_only'
      ? `Members can no longer install it. Its ${count(grants.length, 'existing connection')} ${grants.length === 1 ? 'stays' : 'stay'} until disconnected.`
      : `Its ${count(grants.length, 'existing connection')} ${grants.length === 1 ? 'stays' : 'stay'} until disconnected.`,
  ];
}

/** "Remove as owner". */
export function demoteConsequences(email: string, workspace: Workspace, self: boolean): string[] {
  return [
    `${self ? 'You' : email} will no longer be an owner of ${workspace.name}: ${self ? 'you' : 'they'} keep ${self ? 'your' : 'their'} own connections, but can no longer see or revoke anyone else's, nor change the install policy.`,
  ];
}

/** "Disconnect" on "Your workspaces": one's own Notion account for one workspace. */
export function notionDisconnectConsequences(workspaceName: string, grants: Array<{ appName: string }>): string[] {
  const apps = [...new Set(grants.map((g) => g.appName))].sort();
  return [
    `This removes your Notion connection to ${workspaceName} (revoked at Notion) and revokes ${count(grants.length, 'connection')} you made through it${
      apps.length > 0 ? ` (${listText(apps)})` : ''
    }.`,
    'You can connect your Notion account again later with "Connect your Notion account".',
  ];
}
