/** A local webhook receiver on a free port: records each request's raw body and headers, answers the statuses it is told to. */
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyWebhookSignature } from '@notionhq/client';
import type { NotionWebhookEvent } from '../../src/sandbox/notion/index.js';

export interface Received {
  headers: IncomingHttpHeaders;
  raw: string;
  json: Record<string, unknown>;
}

export class WebhookReceiver {
  readonly received: Received[] = [];
  /** Answers for the next requests, in order ('hang': never answer); 200 once used up. */
  readonly statuses: Array<number | 'hang'> = [];
  private server!: Server;
  url = '';

  static async start(): Promise<WebhookReceiver> {
    const receiver = new WebhookReceiver();
    receiver.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        receiver.received.push({ headers: req.headers, raw, json: JSON.parse(raw) as Record<string, unknown> });
        const status = receiver.statuses.shift() ?? 200;
        if (status === 'hang') return;
        res.statusCode = status;
        res.end();
      });
    });
    await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', resolve));
    receiver.url = `http://127.0.0.1:${(receiver.server.address() as AddressInfo).port}/webhooks/notion`;
    return receiver;
  }

  /** The token of the verification request (the first request of a subscription). */
  verificationToken(): string {
    const handshake = this.received.find((r) => Object.keys(r.json).length === 1 && typeof r.json.verification_token === 'string');
    if (!handshake) throw new Error('no verification request received');
    return handshake.json.verification_token as string;
  }

  /** Events received (not the verification request), each checked against its signature first. */
  async events(): Promise<NotionWebhookEvent[]> {
    const token = this.verificationToken();
    const events: NotionWebhookEvent[] = [];
    for (const r of this.received) {
      if (!('type' in r.json)) continue;
      const signature = r.headers['x-notion-signature'] as string | undefined;
      if (!(await verifyWebhookSignature({ body: r.raw, signature, verificationToken: token })))
        throw new Error(`bad signature on ${r.raw}`);
      events.push(r.json as unknown as NotionWebhookEvent);
    }
    return events;
  }

  /** Forgets what was received so far, except the verification request. */
  clearEvents(): void {
    const keep = this.received.filter((r) => !('type' in r.json));
    this.received.splice(0, this.received.length, ...keep);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
