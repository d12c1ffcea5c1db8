/**
 * A member who reaches an owners' page is told who the owners are, so they
 * know whom to ask: the 403 page names them (names and emails of the
 * workspace's active owners). Pages only: the admin API's refusal keeps its
 * short message.
 */
import type { Request } from 'express';
import { forbidden } from '../../http/errors.js';
import type { Workspace } from '../../store/workspaces.js';
import { ConsoleError, requireOwnerOf } from '../connections.js';
import { pageCaller, type ConsoleContext } from './context.js';

/** "Ada Lovelace (ada@example.com) and Cy (cy@example.com)", or null when the workspace has no active owner. */
export async function ownersText(deps: ConsoleContext, workspaceId: string): Promise<string | null> {
  const owners = (await deps.stores.workspaces.listMembers(workspaceId)).filter((m) => m.role === 'owner' && m.status === 'active');
  const names: string[] = [];
  for (const owner of owners) {
    const person = await deps.stores.people.findById(owner.personId);
    if (person) names.push(person.name && person.name !== person.email ? `${person.name} (${person.email})` : person.email);
  }
  names.sort();
  if (names.length === 0) return null;
  return names.length === 1 ? names[0]! : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}

/** The owners' sentence for a workspace, appended to a refusal. */
export async function askOwners(deps: ConsoleContext, workspace: Pick<Workspace, 'id' | 'name'>): Promise<string> {
  const owners = await ownersText(deps, workspace.id);
  return owners ? ` The owners of ${workspace.name}: ${owners}. Ask one of them.` : '';
}

/** requireOwnerOf for pages: a member's 403 names the owners. */
export async function requireOwnerPage(deps: ConsoleContext, req: Request, workspaceId: string): Promise<Workspace> {
  try {
    return await requireOwnerOf(deps.rules, pageCaller(req, deps), workspaceId);
  } catch (err) {
    if (!(err instanceof ConsoleError) || err.code !== 'forbidden') throw err;
    const workspace = (await deps.stores.workspaces.findById(workspaceId))!;
    throw forbidden(`Only owners of ${workspace.name} can do that.${await askOwners(deps, workspace)}`);
  }
}
