/**
 * A minimal browser for the sandbox IdP tests: fetch with manual redirects
 * and a cookie jar that honours Path and expiry, plus the form scraping a
 * person would do by reading labels.
 */
import { expect } from '@jest/globals';

interface StoredCookie {
  value: string;
  path: string;
}

export class Browser {
  readonly #cookies = new Map<string, StoredCookie>();

  async request(
    url: string | URL,
    init: { method?: string; body?: URLSearchParams; headers?: Record<string, string> } = {},
  ): Promise<Response> {
    const target = new URL(url);
    const cookie = [...this.#cookies.entries()]
      .filter(([, c]) => target.pathname === c.path || target.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`))
      .map(([name, c]) => `${name}=${c.value}`)
      .join('; ');
    const response = await fetch(target, {
      method: init.method ?? 'GET',
      body: init.body,
      redirect: 'manual',
      headers: { ...(cookie ? { cookie } : {}), ...init.headers },
    });
    for (const header of response.headers.getSetCookie()) this.#store(header);
    return response;
  }

  /** Follows redirects until a page is shown, or until one points at `stopAt` (the relying party's redirect URI). */
  async follow(start: Response, base: string, stopAt?: string): Promise<{ response: Response; url: string }> {
    let response = start;
    let url = base;
    while (response.status >= 300 && response.status < 400) {
      url = new URL(response.headers.get('location')!, url).href;
      if (stopAt && url.startsWith(stopAt)) return { response, url };
      response = await this.request(url);
    }
    return { response, url };
  }

  cookie(name: string): string | undefined {
    return this.#cookies.get(name)?.value;
  }

  hasCookie(name: string): boolean {
    return this.#cookies.has(name);
  }

  #store(header: string): void {
    const [pair, ...attributes] = header.split(';').map((part) => part.trim());
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    let path = '/';
    let expired = value === '';
    for (const attribute of attributes) {
      const [key, val = ''] = attribute.split('=');
      if (key.toLowerCase() === 'path') path = val;
      if (key.toLowerCase() === 'expires' && Date.parse(val) <= Date.now()) expired = true;
      if (key.toLowerCase() === 'max-age' && Number(val) <= 0) expired = true;
    }
    if (expired) this.#cookies.delete(name);
    else this.#cookies.set(name, { value, path });
  }
}

export interface SignInForm {
  action: string;
  fields: Record<string, string>;
  emailName: string;
  passwordName: string;
}

/** Reads the sign-in form the way a person would: the inputs labelled "Email" and "Password", the "Sign in" button. */
export function readSignInForm(html: string, pageUrl: string): SignInForm {
  const inputNameForLabel = (label: string) => {
    const id = new RegExp(`<label for="([^"]+)">${label}</label>`).exec(html)?.[1];
    expect(id).toBeDefined();
    const name = new RegExp(`<input id="${id}" name="([^"]+)"`).exec(html)?.[1];
    expect(name).toBeDefined();
    return name!;
  };
  expect(html).toMatch(/<button type="submit">Sign in<\/button>/);
  const action = /<form method="post" action="([^"]+)">/.exec(html)?.[1];
  expect(action).toBeDefined();
  const fields: Record<string, string> = {};
  for (const [, name, value] of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) fields[name] = value;
  return {
    action: new URL(action!.replace(/&amp;/g, '&'), pageUrl).href,
    fields,
    emailName: inputNameForLabel('Email'),
    passwordName: inputNameForLabel('Password'),
  };
}

export function formBody(
  form: SignInForm,
  email: string,
  password: string,
  overrides: Record<string, string | null> = {},
): URLSearchParams {
  const values: Record<string, string | null> = { ...form.fields, [form.emailName]: email, [form.passwordName]: password, ...overrides };
  const body = new URLSearchParams();
  for (const [key, value] of Object.entries(values)) if (value !== null) body.set(key, value);
  return body;
}

/** The hidden CSRF field of Gatehouse's forms. */
export function csrfTokenOf(html: string): string {
  const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
  if (!token) throw new Error('no CSRF token on the page');
  return token;
}

/**
 * Signs a person in through Gatehouse's real sign-in: /auth/sign-in, the
 * sandbox OpenID provider's page, back to /auth/callback. Returns the page
 * Gatehouse lands on.
 */
export async function signIn(
  browser: Browser,
  baseUrl: string,
  email: string,
  password: string,
  returnTo = '/workspaces',
): Promise<{ response: Response; url: string }> {
  const start = await browser.request(`${baseUrl}/auth/sign-in?return_to=${encodeURIComponent(returnTo)}`);
  const { response: page, url: pageUrl } = await browser.follow(start, `${baseUrl}/auth/sign-in`);
  const html = await page.text();
  const form = readSignInForm(html, pageUrl);
  const posted = await browser.request(form.action, {
    method: 'POST',
    body: formBody(form, email, password),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  const landed = await browser.follow(posted, form.action);
  return landed;
}
