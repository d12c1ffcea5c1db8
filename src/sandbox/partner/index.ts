/**
 * The demo partner (embedded default, under /sandbox/partner): a stand-in
 * for a partner platform's site, with a "Connect Notion" button that runs the
 * whole round trip exactly as a partner written for Notion would: the
 * authorize redirect with state, then @notionhq/client's `oauth.token` with
 * Gatehouse's URL as `baseUrl`. It keeps no tokens; it shows what came back.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, isNotionClientError } from '@notionhq/client';
import { Router, type Request } from 'express';
import type { Clock } from '../../clock.js';
import { constantTimeEqual, hashToken, randomString } from '../../crypto/tokens.js';
import { renderPage } from '../../http/views.js';
import type { Stores } from '../../store/stores.js';
import type { DemoPartnerWebhooks } from './webhooks.js';

export const DEMO_PARTNER_CLIENT_ID = 'demo-partner';
const DEMO_LOGO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../public/demo-partner-logo.png');
const STATE_COOKIE = 'demo_partner_state';

export interface DemoPartnerOptions {
  publicUrl: string;
  clientSecret: string;
  stores: Stores;
  clock: Clock;
  /** Its webhook receiver and the events it verified (shown under "Events received"). */
  webhooks?: DemoPartnerWebhooks;
}

/**
 * Registers the demo partner at first start; later starts refresh its secret
 * (kept in the data folder) and its addresses, which follow
 * GATEHOUSE_PUBLIC_URL (a data folder started under another URL keeps working).
 */
export async function ensureDemoPartner(options: DemoPartnerOptions): Promise<void> {
  const redirectUri = `${options.publicUrl}/sandbox/partner/callback`;
  const existing = await options.stores.partnerApps.findByClientId(DEMO_PARTNER_CLIENT_ID);
  if (existing) {
    await options.stores.partnerApps.setSecretHash(existing.id, hashToken(options.clientSecret));
    await options.stores.partnerApps.setAddresses(existing.id, {
      redirectUris: [redirectUri],
      website: `${options.publicUrl}/sandbox/partner`,
    });
    return;
  }
  await options.stores.partnerApps.create(
    {
      clientId: DEMO_PARTNER_CLIENT_ID,
      clientSecretHash: hashToken(options.clientSecret),
      name: 'Demo partner',
      website: `${options.publicUrl}/sandbox/partner`,
      supportContact: 'support@partner.example',
      // The sandbox's own logo is read from disk: the one exception to fetching logos over https.
      logo: fs.existsSync(DEMO_LOGO) ? { contentType: 'image/png', bytes: fs.readFileSync(DEMO_LOGO) } : null,
      redirectUris: [redirectUri],
      capabilities: ['read_content', 'insert_content', 'read_comments', 'user_info_without_email'],
      builtByOrganisation: false,
      clientType: 'confidential',
      createdBy: null,
    },
    options.clock.now(),
  );
}

function readCookie(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return rest.join('=');
  }
  return undefined;
}

export function demoPartnerRouter(options: DemoPartnerOptions): Router {
  const router = Router();
  const redirectUri = `${options.publicUrl}/sandbox/partner/callback`;
  const cookiePath = '/sandbox/partner';
  const secure = options.publicUrl.startsWith('https:');
  const webhookModel = () => ({ events: options.webhooks?.events() ?? [], webhook: options.webhooks?.summary() ?? null });
  if (options.webhooks) router.use(options.webhooks.router);

  router.get('/', (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    renderPage(res, 'sandbox/partner', {
      title: 'Demo partner',
      sandbox: true,
      person: null,
      result: null,
      error: null,
      ...webhookModel(),
    });
  });

  router.get('/connect', (_req, res) => {
    const state = randomString(24);
    res.cookie(STATE_COOKIE, state, { httpOnly: true, sameSite: 'lax', secure, path: cookiePath, maxAge: 10 * 60_000 });
    const url = new URL(`${options.publicUrl}/v1/oauth/authorize`);
    url.search = new URLSearchParams({
      client_id: DEMO_PARTNER_CLIENT_ID,
      redirect_uri: redirectUri,
      response_type: 'code',
      owner: 'user',
      state,
    }).toString();
    res.redirect(303, url.toString());
  });

  router.get('/callback', async (req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    const expected = readCookie(req, STATE_COOKIE);
    res.clearCookie(STATE_COOKIE, { path: cookiePath });
    const show = (status: number, error: string | null, result: Record<string, unknown> | null) =>
      renderPage(res, 'sandbox/partner', { title: 'Demo partner', sandbox: true, person: null, error, result, ...webhookModel() }, status);
    const state = typeof req.query.state === 'string' ? req.query.state : '';
    if (!expected || !constantTimeEqual(expected, state))
      return show(400, 'The answer did not carry the state this partner sent (a forged or replayed redirect).', null);
    // RFC 9207: the answer must come from the server the request went to.
    if (req.query.iss !== options.publicUrl) return show(400, 'The answer came from an unexpected issuer.', null);
    if (typeof req.query.error === 'string')
      return show(
        200,
        req.query.error === 'access_denied' ? 'You cancelled: nothing was shared.' : `Gatehouse answered: ${req.query.error}`,
        null,
      );
    if (typeof req.query.code !== 'string') return show(400, 'No code came back.', null);
    try {
      const client = new Client({ baseUrl: options.publicUrl, retry: false });
      const answer = await client.oauth.token({
        grant_type: 'authorization_code',
        code: req.query.code,
        redirect_uri: redirectUri,
        client_id: DEMO_PARTNER_CLIENT_ID,
        client_secret: options.clientSecret,
      });
      // The pages shown are asked of the Notion API through Gatehouse, as any partner would: a search with the new token.
      let pages: string[];
      try {
        pages = await grantedPageTitles(
          new Client({ auth: answer.access_token, baseUrl: options.publicUrl, retry: false, logger: () => undefined }),
        );
      } catch {
        return show(502, 'Gatehouse gave a token, but the pages could not be listed through its Notion API.', null);
      }
      return show(200, null, {
        workspace: answer.workspace_name ?? answer.workspace_id,
        capabilities: String((answer as unknown as { scope?: string }).scope ?? '')
          .split(' ')
          .filter(Boolean),
        pages,
        botId: answer.bot_id,
        tokenPrefix: `${answer.access_token.slice(0, 12)}…`,
      });
    } catch (err) {
      const message = isNotionClientError(err) ? 'Gatehouse refused the code.' : 'Gatehouse could not be reached.';
      return show(502, message, null);
    }
  });
  return router;
}

/**
 * The pages shared with the partner, as the partner sees them: a search
 * returns the picked pages and everything below them; the picked ones are
 * those whose parent is not itself in the results.
 */
interface SearchResultFields {
  id: string;
  parent?: { page_id?: string; database_id?: string; block_id?: string };
  properties?: Record<string, { type?: string; title?: Array<{ plain_text: string }> }>;
  title?: Array<{ plain_text: string }>;
}

async function grantedPageTitles(notion: Client): Promise<string[]> {
  const found: Array<{ id: string; parentId: string | null; title: string }> = [];
  let cursor: string | undefined;
  for (let page = 0; page < 10; page += 1) {
    const answer = await notion.search({ start_cursor: cursor, page_size: 100 });
    for (const result of answer.results as unknown as SearchResultFields[]) {
      const parent = result.parent ?? {};
      const parentId: string | null = parent.page_id ?? parent.database_id ?? parent.block_id ?? null;
      const titleProperty = Object.values(result.properties ?? {}).find((p) => p?.type === 'title');
      const titleParts: Array<{ plain_text: string }> = titleProperty?.title ?? result.title ?? [];
      found.push({ id: result.id, parentId, title: titleParts.map((t) => t.plain_text).join('') || 'Untitled' });
    }
    if (!answer.has_more || !answer.next_cursor) break;
    cursor = answer.next_cursor;
  }
  const ids = new Set(found.map((p) => p.id));
  return found
    .filter((p) => p.parentId === null || !ids.has(p.parentId))
    .map((p) => p.title)
    .sort();
}
