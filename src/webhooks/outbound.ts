/**
 * POSTs to partner webhook URLs: the verification POST and every delivery.
 *
 * A partner's URL is a URL someone typed, so the request is as narrow as the
 * logo fetcher's (same address rules, `isPublicAddress`):
 *
 *   https only (http only to `localhost` / `127.0.0.1` where the sandboxes
 *   run) → resolve the host → refuse if ANY answer is not a public unicast
 *   address (loopback allowed only in that sandbox case) → connect to the
 *   vetted address itself (pinned `lookup`: a DNS rebind between check and
 *   connect cannot switch it; TLS still checks the certificate against the
 *   host name) → never follow a redirect (a 3xx is an answer, and a failure
 *   to the caller) → one deadline for the whole exchange → read at most
 *   `MAX_RESPONSE_BYTES` of the answer and keep at most 1 KB of it.
 */
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { LookupFunction } from 'node:net';
import { isPublicAddress, type ResolvedAddress } from '../admin/logo.js';

export const DELIVERY_TIMEOUT_MS = 15_000;
const MAX_RESPONSE_BYTES = 64 * 1024;
const KEPT_RESPONSE_BYTES = 1024;
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1']);

/** Why a URL or a POST failed; the message is safe to show to an admin. */
export class OutboundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutboundError';
  }
}

export interface OutboundAnswer {
  status: number;
  /** The partner's `Retry-After`, as sent (seconds or an HTTP date). */
  retryAfter: string | null;
  /** At most 1 KB of the answer's body, as text. */
  bodyExcerpt: string;
}

export interface OutboundOptions {
  /** True where the sandboxes run (embedded default, GATEHOUSE_SANDBOX=1): http to localhost/127.0.0.1 allowed. */
  allowLoopbackHttp: boolean;
  resolve?: (hostname: string) => Promise<ResolvedAddress[]>;
  /** Extra trusted CAs (tests with a local https receiver). */
  ca?: string | Buffer;
}

export interface WebhookSender {
  /** Throws OutboundError when the URL is refused or the exchange fails (network, timeout); any HTTP answer resolves. */
  post(url: string, body: string, headers: Record<string, string>, timeoutMs?: number): Promise<OutboundAnswer>;
}

/** The URL rules alone (for forms and the admin API): a parsed URL, or OutboundError. */
export function checkWebhookUrl(text: string, options: { allowLoopbackHttp: boolean }): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new OutboundError('The webhook URL is not an absolute URL.');
  }
  if (url.username || url.password) throw new OutboundError('The webhook URL must not carry a user name or password.');
  if (url.hash) throw new OutboundError('The webhook URL must not have a fragment.');
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:' && options.allowLoopbackHttp && LOOPBACK_HOSTS.has(url.hostname)) return url;
  throw new OutboundError(
    options.allowLoopbackHttp
      ? 'The webhook URL must use https (http only for localhost and 127.0.0.1).'
      : 'The webhook URL must use https.',
  );
}

async function systemResolve(hostname: string): Promise<ResolvedAddress[]> {
  const answers = await dns.promises.lookup(hostname, { all: true, verbatim: true });
  return answers.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
}

function isLoopback(address: string): boolean {
  return address === '::1' || /^127\./.test(address);
}

async function vettedAddress(url: URL, options: OutboundOptions, deadline: number): Promise<ResolvedAddress> {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const loopbackAllowed = url.protocol === 'http:'; // checkWebhookUrl lets http through only for loopback hosts in the sandbox
  let addresses: ResolvedAddress[];
  if (net.isIP(host)) addresses = [{ address: host, family: net.isIP(host) === 6 ? 6 : 4 }];
  else {
    const resolve = options.resolve ?? systemResolve;
    let timer: NodeJS.Timeout | undefined;
    try {
      addresses = await Promise.race([
        resolve(host),
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), Math.max(1, deadline - Date.now())))),
      ]);
    } catch {
      throw new OutboundError(`The webhook host "${host.slice(0, 100)}" does not resolve.`);
    } finally {
      clearTimeout(timer);
    }
  }
  if (addresses.length === 0) throw new OutboundError(`The webhook host "${host.slice(0, 100)}" does not resolve.`);
  const allowed = (a: ResolvedAddress) => (loopbackAllowed ? isLoopback(a.address) : isPublicAddress(a.address));
  if (!addresses.every(allowed)) throw new OutboundError('The webhook host resolves to an address that is not public.');
  return addresses[0]!;
}

export function createWebhookSender(options: OutboundOptions): WebhookSender {
  return {
    async post(text, body, headers, timeoutMs = DELIVERY_TIMEOUT_MS) {
      const url = checkWebhookUrl(text, options);
      const deadline = Date.now() + timeoutMs;
      const { address, family } = await vettedAddress(url, options, deadline);
      const pinned: LookupFunction = (_hostname, lookupOptions, callback) => {
        if ((lookupOptions as { all?: boolean }).all)
          (callback as (err: null, addresses: Array<{ address: string; family: number }>) => void)(null, [{ address, family }]);
        else callback(null, address, family);
      };
      const transport = url.protocol === 'https:' ? https : http;
      return new Promise<OutboundAnswer>((resolve, reject) => {
        let settled = false;
        const finish = (err: OutboundError | null, answer?: OutboundAnswer) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          request.destroy();
          if (err) reject(err);
          else resolve(answer!);
        };
        const request = transport.request(
          url,
          {
            method: 'POST',
            lookup: pinned,
            agent: false,
            ...(url.protocol === 'https:' && options.ca ? { ca: options.ca } : {}),
            headers: {
              'content-type': 'application/json',
              'content-length': String(Buffer.byteLength(body)),
              'user-agent': 'Gatehouse webhooks',
              ...headers,
            },
          },
          (response) => {
            const chunks: Buffer[] = [];
            let size = 0;
            const answer = (): OutboundAnswer => ({
              status: response.statusCode ?? 0,
              retryAfter: typeof response.headers['retry-after'] === 'string' ? response.headers['retry-after'] : null,
              bodyExcerpt: Buffer.concat(chunks).subarray(0, KEPT_RESPONSE_BYTES).toString('utf8'),
            });
            response.on('data', (chunk: Buffer) => {
              size += chunk.length;
              if (size <= MAX_RESPONSE_BYTES) chunks.push(chunk);
              else finish(null, answer()); // enough read to judge; the rest is not ours to wait for
            });
            response.on('end', () => finish(null, answer()));
            response.on('error', () => finish(null, answer()));
          },
        );
        const timer = setTimeout(
          () => finish(new OutboundError(`The webhook URL did not answer within ${timeoutMs / 1000} s.`)),
          Math.max(1, deadline - Date.now()),
        );
        request.on('error', (err: NodeJS.ErrnoException) => {
          const reason = /certificate|self.signed|CERT_|SSL|TLS/i.test(`${err.code ?? ''} ${err.message}`)
            ? 'its TLS certificate is not valid'
            : 'the connection failed';
          finish(new OutboundError(`The webhook could not be delivered: ${reason}.`));
        });
        request.end(body);
      });
    },
  };
}
