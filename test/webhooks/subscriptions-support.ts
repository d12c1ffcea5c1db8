/**
 * A partner's webhook receiver on a free port: records every POST (raw body,
 * headers) and answers with the status the test sets. Plus the partner's
 * own verify call with openid-client's HTTP Basic (it percent-encodes).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as oidc from 'openid-client';
import { randomString } from '../../src/crypto/tokens.js';
import { generateToken, hashToken } from '../../src/crypto/tokens.js';
import type { Gatehouse } from '../../src/runtime.js';

export interface ReceivedPost {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface Receiver {
  url: string;
  received: ReceivedPost[];
  status: number;
  /** The verification_token of the last verification POST received. */
  lastToken(): string;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const received: ReceivedPost[] = [];
  const state = { status: 200 };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.statusCode = state.status;
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  return {
    url,
    received,
    get status() {
      return state.status;
    },
    set status(value: number) {
      state.status = value;
    },
    lastToken() {
      const last = received[received.length - 1];
      if (!last) throw new Error('no POST received');
      return (JSON.parse(last.body) as { verification_token: string }).verification_token;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A confidential partner app whose id and secret hold characters openid-client percent-encodes ("-", "."). */
export async function registerDashedApp(
  gatehouse: Gatehouse,
  name: string,
): Promise<{ clientId: string; clientSecret: string; id: string }> {
  const clientId = `partner-${randomString(9)}.app`;
  const clientSecret = `${generateToken('gh_cs')}-x.y`;
  const app = await gatehouse.stores.partnerApps.create(
    {
      clientId,
      clientSecretHash: hashToken(clientSecret),
      name,
      website: 'https://partner.example',
      supportContact: 'support@partner.example',
      logo: null,
      redirectUris: ['https://partner.example/callback'],
      capabilities: ['read_content', 'read_comments', 'user_info_without_email'],
      builtByOrganisation: false,
      clientType: 'confidential',
      createdBy: null,
    },
    new Date(),
  );
  return { clientId, clientSecret, id: app.id };
}

/** The Authorization header openid-client's ClientSecretBasic sends. */
export function openidClientBasic(clientId: string, clientSecret: string): string {
  const headers = new Headers();
  oidc.ClientSecretBasic(clientSecret)(
    {} as oidc.ServerMetadata,
    { client_id: clientId } as oidc.ClientMetadata,
    new URLSearchParams(),
    headers,
  );
  return headers.get('authorization')!;
}
