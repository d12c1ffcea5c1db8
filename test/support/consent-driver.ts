/**
 * Answers the consent screen over plain HTTP, as a browser without
 * JavaScript would: choose the workspace, open the page picker, tick pages,
 * "Allow access". Returns the partner redirect Gatehouse answered with.
 */
import type { Browser } from './browser.js';

function hidden(html: string, name: string): string[] {
  return [...html.matchAll(new RegExp(`<input type="hidden" name="${name}" value="([^"]*)"`, 'g'))].map((m) =>
    m[1]!.replace(/&amp;/g, '&'),
  );
}

export async function consentAndAllow(
  browser: Browser,
  baseUrl: string,
  authorizeUrl: string,
  workspaceName: string,
  pickCount = 1,
): Promise<URL> {
  const start = await browser.request(authorizeUrl);
  if (start.status !== 303) throw new Error(`authorize answered ${start.status}: ${await start.text()}`);
  const consentUrl = new URL(start.headers.get('location')!, baseUrl);
  const consent = await (await browser.request(consentUrl)).text();
  const workspaceId = new RegExp(`<option value="([^"]+)"[^>]*>${workspaceName}</option>`).exec(consent)?.[1];
  if (!workspaceId) throw new Error(`${workspaceName} not offered`);
  const pickerUrl = new URL(`${consentUrl.pathname}/pages?workspace=${workspaceId}`, baseUrl);
  const picker = await (await browser.request(pickerUrl)).text();
  const pageIds = [...picker.matchAll(/type="checkbox" id="page-[^"]+" name="pages" value="([^"]+)"/g)]
    .map((m) => m[1]!)
    .slice(0, pickCount);
  const body = new URLSearchParams({
    _csrf: hidden(picker, '_csrf')[0]!,
    workspace: workspaceId,
    shown: hidden(picker, 'shown')[0] ?? '',
    action: 'allow',
  });
  for (const c of hidden(picker, 'capabilities')) body.append('capabilities', c);
  for (const id of pageIds) body.append('pages', id);
  const allowed = await browser.request(`${baseUrl}${consentUrl.pathname}/pages`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  if (allowed.status !== 303) throw new Error(`allow answered ${allowed.status}: ${(await allowed.text()).slice(0, 500)}`);
  return new URL(allowed.headers.get('location')!);
}
