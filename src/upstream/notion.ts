/**
 * Every call Gatehouse makes to Notion goes through `@notionhq/client`, with
 * its own retries off: Gatehouse decides when to wait and retry.
 */
import { Client } from '@notionhq/client';

export interface NotionUpstream {
  /** Base URL of Notion (https://api.notion.com) or of the sandbox. */
  baseUrl: string;
  clientId: string;
  clientSecret: string;
  notionVersion: string;
  timeoutMs: number;
}

export function notionClient(upstream: NotionUpstream, auth?: string): Client {
  return new Client({
    auth,
    baseUrl: upstream.baseUrl,
    retry: false,
    timeoutMs: upstream.timeoutMs,
    notionVersion: upstream.notionVersion,
    logLevel: undefined,
    logger: () => undefined,
  });
}

/** What an upstream credential holds, encrypted as one JSON value. */
export interface UpstreamCredential {
  accessToken: string;
  refreshToken: string | null;
}

export function authorizeUrl(upstream: NotionUpstream, redirectUri: string, state: string): string {
  const url = new URL(`${upstream.baseUrl}/v1/oauth/authorize`);
  url.searchParams.set('client_id', upstream.clientId);
  url.searchParams.set('redirect_uri', redirectUri);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('owner', 'user');
  url.searchParams.set('state', state);
  return url.toString();
}
