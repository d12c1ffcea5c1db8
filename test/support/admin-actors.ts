/**
 * People for authorisation tests beyond the sandbox provider's two demo
 * users: a person created in the store (as a sign-in through another
 * provider would create them), owning a workspace of their own, signed in by
 * pointing a fresh session of a real sign-in at them. The session is made by
 * Gatehouse's own sign-in and only its `passport.user` changes, so every
 * check after sign-in (session lookup, CSRF, page chrome) runs unchanged.
 */
import { sql } from 'kysely';
import { hashToken } from '../../src/crypto/tokens.js';
import { Browser, csrfTokenOf, signIn } from './browser.js';
import type { TestGatehouse } from './harness.js';
import type { Person } from '../../src/store/people.js';

export async function createOutsider(
  t: TestGatehouse,
  args: { email: string; name: string; workspace?: { id: string; name: string } },
): Promise<Person> {
  const { stores } = t.gatehouse;
  const person = await stores.people.upsertFromSignIn(
    { issuer: 'https://idp.elsewhere.example', subject: args.email, email: args.email, emailVerified: true, name: args.name },
    new Date(),
  );
  if (args.workspace) await stores.workspaces.upsertWithConnector({ ...args.workspace, icon: null }, person.id, new Date());
  return person;
}

/** A browser signed in as `person`: Ben signs in for real, then the session row is pointed at `person`. */
export async function signInAs(t: TestGatehouse, person: Person): Promise<Browser> {
  const browser = new Browser();
  await signIn(browser, t.url, 'ben@example.com', 'ben-demo');
  const cookie = browser.cookie('gatehouse.sid') ?? browser.cookie('__Host-gatehouse');
  if (!cookie) throw new Error('no session cookie after sign-in');
  const signed = decodeURIComponent(cookie);
  const sid = signed.slice(2, signed.lastIndexOf('.'));
  const result =
    await sql`update sessions set data = jsonb_set(data, '{passport,user}', ${JSON.stringify(person.id)}::jsonb) where sid = ${hashToken(sid)}`.execute(
      t.gatehouse.database.db,
    );
  if (Number(result.numAffectedRows ?? 0) !== 1) throw new Error('session row not found');
  return browser;
}

/** The CSRF token of a signed-in browser, read from a page every signed-in person may open. */
export async function csrfOf(browser: Browser, baseUrl: string): Promise<string> {
  const page = await browser.request(`${baseUrl}/admin/tokens`, { headers: { accept: 'text/html' } });
  return csrfTokenOf(await page.text());
}
