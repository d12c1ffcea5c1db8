/**
 * Connecting a Notion account the way a person does it: "Connect a workspace"
 * (or "Reconnect") on Gatehouse's "Your workspaces", then sandbox Notion's own
 * pages (sign in with Email and Password, choose the workspace, tick pages by
 * their labels, "Allow access" or "Cancel"), then back to Gatehouse's
 * callback. Every step reads the page as a person would: labels, buttons.
 */
import { expect } from '@jest/globals';
import { Browser, csrfTokenOf, formBody, readSignInForm } from './browser.js';

const FORM = { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' };

export function decodeHtml(text: string): string {
  return text
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** "Your workspaces" as the browser's person sees it. */
export async function workspacesPage(browser: Browser, baseUrl: string): Promise<{ status: number; html: string; csrf: string }> {
  const response = await browser.request(`${baseUrl}/workspaces`, { headers: { accept: 'text/html' } });
  const html = await response.text();
  return { status: response.status, html, csrf: csrfTokenOf(html) };
}

/** The state and text of one workspace's row on "Your workspaces" (null when the row is absent). */
export function workspaceRow(html: string, workspaceId: string): { state: string; text: string; role: string } | null {
  const row = new RegExp(`<tr data-workspace-id="${workspaceId}">([\\s\\S]*?)</tr>`).exec(html)?.[1];
  if (!row) return null;
  const state = /data-index-state="([^"]+)">([^<]*)</.exec(row);
  const role = /<\/th>\s*<td>([^<]*)<\/td>/.exec(row)?.[1] ?? '';
  return { state: state?.[1] ?? '', text: decodeHtml(state?.[2] ?? ''), role };
}

/** Posts one of Gatehouse's forms with the page's CSRF token. */
export async function postForm(browser: Browser, url: string, fields: Record<string, string | string[]>): Promise<Response> {
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) for (const v of Array.isArray(value) ? value : [value]) body.append(name, v);
  return browser.request(url, { method: 'POST', body, headers: FORM });
}

/** Presses "Connect a workspace" (or "Reconnect" on a workspace's row); answers Gatehouse's redirect to Notion. */
export async function startConnect(browser: Browser, baseUrl: string, reconnectWorkspaceId?: string): Promise<Response> {
  const { csrf } = await workspacesPage(browser, baseUrl);
  const action = reconnectWorkspaceId ? `/workspaces/${reconnectWorkspaceId}/reconnect` : '/workspaces/connect';
  const response = await postForm(browser, `${baseUrl}${action}`, { _csrf: csrf });
  expect(response.status).toBe(303);
  return response;
}

export interface NotionChoice {
  /** Sandbox Notion account. */
  email: string;
  password: string;
  workspaceName: string;
  /** Titles of the pages to tick; default: every checkbox. */
  pages?: string[];
  decision?: 'allow' | 'cancel';
}

interface Checkbox {
  id: string;
  title: string;
}

function checkboxes(html: string): Checkbox[] {
  return [...html.matchAll(/<input type="checkbox" id="([^"]+)" name="pages" value="([^"]+)"> <label for="\1">([^<]*)<\/label>/g)].map(
    ([, , id, title]) => ({ id: id!, title: decodeHtml(title!) }),
  );
}

/**
 * From Gatehouse's redirect to Notion to the URL Notion sends the browser
 * back to (Gatehouse's callback, not visited yet).
 */
export async function passNotion(browser: Browser, baseUrl: string, toNotion: Response, choice: NotionChoice): Promise<string> {
  const callback = `${baseUrl}/connect/notion/callback`;
  let { response, url } = await browser.follow(toNotion, baseUrl, callback);
  if (url.startsWith(callback)) return url; // Notion refused before showing a page
  let html = await response.text();
  if (html.includes('<h1>Sign in to sandbox Notion</h1>')) {
    const form = readSignInForm(html, url);
    const posted = await browser.request(form.action, {
      method: 'POST',
      body: formBody(form, choice.email, choice.password),
      headers: FORM,
    });
    ({ response, url } = await browser.follow(posted, form.action, callback));
    html = await response.text();
  }
  const chooserUrl = url;
  if (html.includes('<h1>Choose a workspace</h1>')) {
    if (choice.decision === 'cancel') return decide(browser, html, url, callback, { decision: 'cancel' });
    expect(html).toMatch(/<label for="sandbox-notion-workspace">Workspace<\/label>/);
    const options = [...html.matchAll(/<option value="([^"]+)">([^<]*)<\/option>/g)].map(([, id, name]) => ({
      id: id!,
      name: decodeHtml(name!),
    }));
    const chosen = options.find((o) => o.name === choice.workspaceName);
    if (!chosen) throw new Error(`"${choice.workspaceName}" is not among ${options.map((o) => o.name).join(', ')}`);
    const action = new URL(decodeHtml(/<form method="get" action="([^"]+)">/.exec(html)![1]!), chooserUrl);
    action.searchParams.set('workspace', chosen.id);
    response = await browser.request(action);
    url = action.href;
    html = await response.text();
    expect(response.status).toBe(200);
  }
  expect(html).toContain(`<h1>Select pages in ${choice.workspaceName}</h1>`);
  const boxes = checkboxes(html);
  const picked =
    choice.pages === undefined
      ? boxes
      : choice.pages.map((title) => {
          const box = boxes.find((b) => b.title === title);
          if (!box) throw new Error(`no checkbox labelled "${title}"`);
          return box;
        });
  return decide(browser, html, url, callback, { decision: choice.decision ?? 'allow', pages: picked.map((b) => b.id) });
}

async function decide(
  browser: Browser,
  html: string,
  pageUrl: string,
  callback: string,
  args: { decision: 'allow' | 'cancel'; pages?: string[] },
): Promise<string> {
  expect(html).toContain(args.decision === 'allow' ? '>Allow access</button>' : '>Cancel</button>');
  const form = /<form method="post" action="([^"]+\/decision)"[^>]*>([\s\S]*?)<\/form>/.exec(html);
  if (!form) throw new Error('no decision form on the page');
  const fields: Record<string, string | string[]> = {};
  for (const [, name, value] of form[2]!.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g))
    fields[name!] = decodeHtml(value!);
  fields.decision = args.decision;
  if (args.pages) fields.pages = args.pages;
  const action = new URL(decodeHtml(form[1]!), pageUrl).href;
  const posted = await postForm(browser, action, fields);
  const { url } = await browser.follow(posted, action, callback);
  if (!url.startsWith(callback)) throw new Error(`Notion did not send the browser back to Gatehouse (${posted.status} at ${url})`);
  return url;
}

/** The whole round trip; answers Gatehouse's response to the callback and the page it leads to. */
export async function connectNotion(
  browser: Browser,
  baseUrl: string,
  choice: NotionChoice & { reconnect?: string },
): Promise<{ callbackUrl: string; callback: Response; status: number; html: string }> {
  const toNotion = await startConnect(browser, baseUrl, choice.reconnect);
  const callbackUrl = await passNotion(browser, baseUrl, toNotion, choice);
  const callback = await browser.request(callbackUrl, { headers: { accept: 'text/html' } });
  if (callback.status === 303) {
    const page = await browser.request(new URL(callback.headers.get('location')!, baseUrl), { headers: { accept: 'text/html' } });
    return { callbackUrl, callback, status: page.status, html: await page.text() };
  }
  return { callbackUrl, callback, status: callback.status, html: await callback.text() };
}
