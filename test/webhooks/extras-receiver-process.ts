/**
 * A partner's webhook receiver in a process of its own, written as a partner
 * would write it against Notion: it keeps the verification token from the
 * verification POST, and checks every later delivery with the verifiers
 * nobody here wrote (`@notionhq/client`'s `verifyWebhookSignature` and
 * `standardwebhooks`' `Webhook.verify`, keyed with the `whsec_` secret the
 * partner was shown once and configures with `PUT /config`). It answers 200
 * to every delivery and reports what it got, one JSON line per delivery on
 * stdout and as a whole at `GET /received`. Prints `listening <url>` first.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyWebhookSignature } from '@notionhq/client';
import { Webhook } from 'standardwebhooks';

interface Delivery {
  type: unknown;
  entity: unknown;
  webhookId: string | undefined;
  notionValid: boolean;
  standardValid: boolean;
  json: Record<string, unknown>;
}

let verificationToken: string | null = null;
let signingSecret: string | null = null;
const deliveries: Delivery[] = [];

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

function answer(res: http.ServerResponse, status: number, body?: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(body === undefined ? '' : JSON.stringify(body));
}

async function receive(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const body = await readBody(req);
  if (req.method === 'GET' && req.url === '/received') return answer(res, 200, { verificationToken, deliveries });
  if (req.method === 'PUT' && req.url === '/config') {
    signingSecret = (JSON.parse(body) as { signing_secret: string }).signing_secret;
    return answer(res, 204);
  }
  if (req.method !== 'POST' || req.url !== '/hooks/notion') return answer(res, 404);
  const json = JSON.parse(body) as Record<string, unknown>;
  // Notion's verification POST: a JSON object whose only key is the token.
  if (Object.keys(json).length === 1 && typeof json.verification_token === 'string') {
    verificationToken = json.verification_token;
    return answer(res, 200);
  }
  const signature = req.headers['x-notion-signature'];
  const notionValid =
    verificationToken !== null &&
    (await verifyWebhookSignature({ body, signature: typeof signature === 'string' ? signature : '', verificationToken }));
  let standardValid = false;
  try {
    if (signingSecret) {
      new Webhook(signingSecret).verify(body, req.headers as Record<string, string>);
      standardValid = true;
    }
  } catch {
    standardValid = false;
  }
  const webhookId = req.headers['webhook-id'];
  const delivery: Delivery = {
    type: json.type,
    entity: json.entity,
    webhookId: typeof webhookId === 'string' ? webhookId : undefined,
    notionValid,
    standardValid,
    json,
  };
  deliveries.push(delivery);
  process.stdout.write(`${JSON.stringify({ delivery: { type: delivery.type, notionValid, standardValid } })}\n`);
  answer(res, 200);
}

const server = http.createServer((req, res) => {
  receive(req, res).catch((err: unknown) => answer(res, 500, { error: String(err) }));
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
