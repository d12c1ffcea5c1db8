/**
 * First start of the embedded default: Acme and Side Project are
 * already connected for Ada (their owner) and Acme for Ben; Archive is left
 * for a person to connect. The connections are made exactly as a person's
 * would be, from the sandbox Notion's token answer, so the demo exercises the
 * production path.
 */
import type { SandboxNotion } from '../sandbox/notion/index.js';
import { DEMO_USERS } from '../sandbox/idp/users.js';
import type { Stores } from '../store/stores.js';
import { connectFromTokenAnswer, type ConnectDeps } from '../upstream/connect.js';

const DEMO_CONNECTIONS: Array<[email: string, workspaceName: string]> = [
  ['ada@example.com', 'Acme'],
  ['ada@example.com', 'Side Project'],
  ['ben@example.com', 'Acme'],
];

export async function seedDemo(args: {
  stores: Stores;
  sandbox: SandboxNotion;
  clientId: string;
  idpIssuer: string;
  connect: ConnectDeps;
}): Promise<boolean> {
  if ((await args.stores.workspaces.listAll()).length > 0) return false;
  const now = args.connect.clock.now();
  for (const [email, workspaceName] of DEMO_CONNECTIONS) {
    const user = DEMO_USERS.find((u) => u.email === email)!;
    const person = await args.stores.people.upsertFromSignIn(
      { issuer: args.idpIssuer, subject: user.subject, email: user.email, emailVerified: true, name: user.name },
      now,
    );
    const answer = await args.sandbox.grantDirect({ clientId: args.clientId, email, workspaceName });
    await connectFromTokenAnswer(args.connect, { person, answer, reconnectWorkspaceId: null, address: null });
  }
  return true;
}
