/**
 * Server-rendered pages. Eta escapes every `<%= %>` by default; templates get
 * a small view model, never domain objects.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Eta } from 'eta';
import type { Response } from 'express';

const viewsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../views');

export const eta = new Eta({ views: viewsDir, cache: process.env.NODE_ENV === 'production', autoTrim: false });

/** What every page's layout reads: who is signed in, the CSRF token for forms. */
export interface PageChrome {
  title: string;
  person?: { displayName: string; isOwnerSomewhere: boolean; isOrganisationAdmin?: boolean } | null;
  csrfToken?: string;
  /** A sandbox page says so. */
  sandbox?: boolean;
  /** A focused page (consent): the person's name and "Sign out", no console navigation, like Notion's own. */
  focused?: boolean;
}

/** The pages a partner sends a person to: nothing on them may lead away from the decision. */
const FOCUSED_TEMPLATES = new Set(['consent', 'consent-pages']);

export function renderPage(res: Response, template: string, model: PageChrome & Record<string, unknown>, status = 200): void {
  const chrome: PageChrome = {
    title: model.title,
    person: model.person ?? (res.locals.pageChrome?.person as PageChrome['person']) ?? null,
    csrfToken: model.csrfToken ?? (res.locals.csrfToken as string | undefined),
    sandbox: model.sandbox ?? false,
    focused: model.focused ?? FOCUSED_TEMPLATES.has(template),
  };
  const organisationName = (res.app?.locals.organisationName as string | undefined) ?? null;
  const html = eta.render(template, { organisationName, ...model, ...chrome });
  res.status(status).type('html').send(html);
}
