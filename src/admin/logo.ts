/**
 * A partner's logo, fetched once at registration and served by Gatehouse.
 *
 * Fetching a URL an admin typed is server-side request forgery waiting to
 * happen (OWASP ASVS5 1.3.6, 12.3.5), so the fetch is narrow:
 *
 *   https only → resolve the host → refuse if ANY answer is not a public
 *   unicast address (private, loopback, link-local, unique-local, multicast,
 *   unspecified, documentation, IPv4-mapped/NAT64/6to4 forms of those) →
 *   connect to the vetted address itself (the socket's `lookup` is pinned, so
 *   a DNS rebind between check and connect cannot switch it; TLS still checks
 *   the certificate against the host name) → no redirects → 5 s for the
 *   whole exchange → at most 256 KB → PNG, JPEG, GIF or WebP only, and the
 *   first bytes must be that format. Never SVG: it can carry script.
 *
 * The sandbox's own logos (files in public/, served under
 * $GATEHOUSE_PUBLIC_URL/static/) are read from disk instead: the sandbox runs
 * on http://localhost, which the rules above rightly refuse.
 */
import dns from 'node:dns';
import fs from 'node:fs/promises';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import type { LookupFunction } from 'node:net';

export const LOGO_MAX_BYTES = 256 * 1024;
export const LOGO_TIMEOUT_MS = 5_000;
export const LOGO_CONTENT_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'] as const;
export type LogoContentType = (typeof LOGO_CONTENT_TYPES)[number];

export interface Logo {
  contentType: LogoContentType;
  bytes: Buffer;
}

/** Why a logo was refused: the message is for the admin who typed the URL. */
export class LogoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LogoError';
  }
}

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** What the network part answers; `download` never follows redirects. */
export interface DownloadResult {
  status: number;
  contentType: string | null;
  location: string | null;
  bytes: Buffer;
}

export interface DownloadTarget {
  url: URL;
  address: ResolvedAddress;
  timeoutMs: number;
  maxBytes: number;
}

export interface LogoFetcherOptions {
  /** Gatehouse's public URL: logos under `<publicUrl>/static/` are read from `publicDir`. */
  publicUrl: string;
  publicDir: string;
  resolve?: (hostname: string) => Promise<ResolvedAddress[]>;
  download?: (target: DownloadTarget) => Promise<DownloadResult>;
  timeoutMs?: number;
  maxBytes?: number;
}

export type LogoFetcher = (url: string) => Promise<Logo>;

// ---------------------------------------------------------------------------
// Addresses
//
// Ranges are data in `net.BlockList`s, which parse every textual form of an
// address (RFC 4291 §2.2, dotted tails, `::ffff:7f00:1`) so nothing here does.

/** IANA special-purpose IPv4 blocks (RFC 6890 and its updates) that a public server never lives on. */
const IPV4_REFUSED: Array<[string, number]> = [
  ['0.0.0.0', 8], // "this network", 0.0.0.0 unspecified
  ['10.0.0.0', 8], // private (RFC 1918)
  ['100.64.0.0', 10], // shared address space, carrier-grade NAT (RFC 6598)
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local (cloud metadata endpoints live here)
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.88.99.0', 24], // 6to4 relay anycast (deprecated)
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, and 255.255.255.255 broadcast
];

/** IPv6 prefixes that carry an IPv4 address, and where: an address inside is judged by the IPv4 one it leads to. */
const IPV4_CARRIERS: Array<{ prefix: string; bits: number; embed: (ipv4: string) => string }> = [
  { prefix: '::ffff:0:0', bits: 96, embed: (ipv4) => `::ffff:${ipv4}` }, // IPv4-mapped (RFC 4291 §2.5.5.2)
  { prefix: '64:ff9b::', bits: 96, embed: (ipv4) => `64:ff9b::${ipv4}` }, // NAT64 well-known prefix (RFC 6052)
  { prefix: '2002::', bits: 16, embed: (ipv4) => `2002:${hexGroups(ipv4)}::` }, // 6to4 (RFC 3056)
];

function hexGroups(ipv4: string): string {
  const [a, b, c, d] = ipv4.split('.').map(Number) as [number, number, number, number];
  return `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
}

/**
 * Only global unicast (2000::/3) is public at all, which refuses ::, ::1,
 * IPv4-compatible ::/96, fc00::/7 unique-local, fe80::/10 link-local,
 * fec0::/10 site-local and ff00::/8 multicast; the IPv4 carriers outside it
 * are let through here and judged by `REFUSED`.
 */
const IPV6_CANDIDATES = new net.BlockList();
IPV6_CANDIDATES.addSubnet('2000::', 3, 'ipv6');
for (const carrier of IPV4_CARRIERS) IPV6_CANDIDATES.addSubnet(carrier.prefix, carrier.bits, 'ipv6');

const REFUSED = new net.BlockList();
for (const [base, bits] of IPV4_REFUSED) {
  REFUSED.addSubnet(base, bits, 'ipv4');
  for (const carrier of IPV4_CARRIERS) REFUSED.addSubnet(carrier.embed(base), carrier.bits + bits, 'ipv6');
}
REFUSED.addSubnet('2001::', 23, 'ipv6'); // IETF protocol assignments, Teredo included (RFC 6890)
REFUSED.addSubnet('2001:db8::', 32, 'ipv6'); // documentation
REFUSED.addSubnet('3fff::', 20, 'ipv6'); // documentation (RFC 9637)

/**
 * True only for a public unicast address; anything unparsable is refused, and
 * so is a zone id (`fe80::1%eth0`): zones only exist for link-local scopes.
 * This is the server-side request forgery rule for every fetch Gatehouse makes
 * to a URL someone typed (logos, webhook endpoints, metadata documents).
 */
export function isPublicAddress(ip: string): boolean {
  const family = net.isIP(ip);
  if (family === 4) return !REFUSED.check(ip, 'ipv4');
  if (family === 6) return !ip.includes('%') && IPV6_CANDIDATES.check(ip, 'ipv6') && !REFUSED.check(ip, 'ipv6');
  return false;
}

/** Why a host name was refused by `resolvePublicHost`. */
export type HostRefusal = 'unresolvable' | 'timeout' | 'not_public';

export type HostCheck = { ok: true; addresses: ResolvedAddress[] } | { ok: false; reason: HostRefusal };

/**
 * The address half of the SSRF check, for any fetcher: an IP literal or every
 * DNS answer must be public (a host that resolves to one public and one
 * private address is refused). Connect to `addresses[0]` itself, with the
 * socket's `lookup` pinned as `httpsDownload` does, so a DNS rebind between
 * check and connect cannot switch it.
 */
export async function resolvePublicHost(
  hostname: string,
  options: { resolve?: (hostname: string) => Promise<ResolvedAddress[]>; timeoutMs: number },
): Promise<HostCheck> {
  const host = hostname.replace(/^\[(.*)\]$/, '$1');
  let addresses: ResolvedAddress[];
  if (net.isIP(host)) {
    addresses = [{ address: host, family: net.isIP(host) === 6 ? 6 : 4 }];
  } else {
    const resolveHost = options.resolve ?? systemResolve;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), options.timeoutMs);
    });
    try {
      const answer = await Promise.race([resolveHost(host), deadline]);
      if (answer === 'timeout') return { ok: false, reason: 'timeout' };
      addresses = answer;
    } catch {
      return { ok: false, reason: 'unresolvable' };
    } finally {
      clearTimeout(timer);
    }
    if (addresses.length === 0) return { ok: false, reason: 'unresolvable' };
  }
  if (addresses.some((a) => !isPublicAddress(a.address))) return { ok: false, reason: 'not_public' };
  return { ok: true, addresses };
}

// ---------------------------------------------------------------------------
// Content

/** Magic numbers of the four accepted formats. */
export function sniffImageType(bytes: Buffer): LogoContentType | null {
  if (bytes.length >= 8 && bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  if (bytes.length >= 6 && /^GIF8[79]a$/.test(bytes.subarray(0, 6).toString('latin1'))) return 'image/gif';
  if (bytes.length >= 12 && bytes.subarray(0, 4).toString('latin1') === 'RIFF' && bytes.subarray(8, 12).toString('latin1') === 'WEBP')
    return 'image/webp';
  return null;
}

/** The declared type must be one of the four, and the bytes must be that format. */
export function checkLogoContent(declared: string | null, bytes: Buffer, maxBytes = LOGO_MAX_BYTES): Logo {
  const type = (declared ?? '').split(';')[0]!.trim().toLowerCase();
  if (!(LOGO_CONTENT_TYPES as readonly string[]).includes(type)) {
    throw new LogoError(
      `The logo must be a PNG, JPEG, GIF or WebP image (the server said "${type.slice(0, 60) || 'no content type'}"); SVG is not accepted.`,
    );
  }
  if (bytes.length > maxBytes) throw new LogoError(`The logo is larger than ${Math.round(maxBytes / 1024)} KB.`);
  if (bytes.length === 0) throw new LogoError('The logo is empty.');
  const sniffed = sniffImageType(bytes);
  if (sniffed !== type) throw new LogoError(`The logo's bytes are not a ${type.slice(6).toUpperCase()} image.`);
  return { contentType: type as LogoContentType, bytes };
}

// ---------------------------------------------------------------------------
// Network

async function systemResolve(hostname: string): Promise<ResolvedAddress[]> {
  const answers = await dns.promises.lookup(hostname, { all: true, verbatim: true });
  return answers.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
}

/**
 * One GET over TLS to an address already vetted. The socket's `lookup` is
 * pinned to that address, so Node never asks DNS again; the certificate is
 * still checked against the URL's host name (SNI and identity). Nothing is
 * followed, nothing is read beyond `maxBytes`, and the whole exchange has one
 * deadline.
 */
export function httpsDownload(target: DownloadTarget, tls: { ca?: string | Buffer } = {}): Promise<DownloadResult> {
  return new Promise((resolve, reject) => {
    const { address, family } = target.address;
    const pinned: LookupFunction = (_hostname, options, callback) => {
      if ((options as { all?: boolean }).all)
        (callback as (err: null, addresses: Array<{ address: string; family: number }>) => void)(null, [{ address, family }]);
      else callback(null, address, family);
    };
    let settled = false;
    const fail = (err: LogoError) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      request.destroy();
      reject(err);
    };
    const request = https.request(
      target.url,
      {
        method: 'GET',
        lookup: pinned,
        agent: false,
        ca: tls.ca,
        headers: { accept: LOGO_CONTENT_TYPES.join(', '), 'user-agent': 'Gatehouse logo fetcher' },
      },
      (response) => {
        const status = response.statusCode ?? 0;
        const contentType = response.headers['content-type'] ?? null;
        const location = response.headers.location ?? null;
        if (status < 200 || status >= 300) {
          response.resume();
          settled = true;
          clearTimeout(deadline);
          request.destroy();
          resolve({ status, contentType, location, bytes: Buffer.alloc(0) });
          return;
        }
        const declared = Number(response.headers['content-length']);
        if (Number.isFinite(declared) && declared > target.maxBytes)
          return fail(new LogoError(`The logo is larger than ${Math.round(target.maxBytes / 1024)} KB.`));
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > target.maxBytes) return fail(new LogoError(`The logo is larger than ${Math.round(target.maxBytes / 1024)} KB.`));
          chunks.push(chunk);
        });
        response.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(deadline);
          resolve({ status, contentType, location, bytes: Buffer.concat(chunks) });
        });
        response.on('error', () => fail(new LogoError('The logo download was interrupted.')));
      },
    );
    const deadline = setTimeout(
      () => fail(new LogoError(`The logo server did not answer within ${target.timeoutMs / 1000} s.`)),
      target.timeoutMs,
    );
    request.on('error', (err: NodeJS.ErrnoException) => {
      const reason = /certificate|self.signed|CERT_|SSL|TLS/i.test(`${err.code ?? ''} ${err.message}`)
        ? 'its TLS certificate is not valid'
        : 'the connection failed';
      fail(new LogoError(`The logo could not be fetched: ${reason}.`));
    });
    request.end();
  });
}

// ---------------------------------------------------------------------------
// The fetcher

function parseLogoUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new LogoError('The logo URL is not an absolute URL.');
  }
  return url;
}

async function readSandboxLogo(url: URL, publicDir: string, maxBytes: number): Promise<Logo> {
  const relative = decodeURIComponent(url.pathname.slice('/static/'.length));
  const root = path.resolve(publicDir);
  const file = path.resolve(root, relative);
  if (!file.startsWith(`${root}${path.sep}`) || relative.includes('\0'))
    throw new LogoError('The logo URL does not name a file of Gatehouse.');
  let bytes: Buffer;
  try {
    const stat = await fs.stat(file);
    if (!stat.isFile()) throw new Error('not a file');
    if (stat.size > maxBytes) throw new LogoError(`The logo is larger than ${Math.round(maxBytes / 1024)} KB.`);
    bytes = await fs.readFile(file);
  } catch (err) {
    if (err instanceof LogoError) throw err;
    throw new LogoError('The logo URL does not name a file of Gatehouse.');
  }
  const byExtension: Record<string, LogoContentType> = {
    '.png': 'image/png',
    '.jpg': 'image/jpeg',
    '.jpeg': 'image/jpeg',
    '.gif': 'image/gif',
    '.webp': 'image/webp',
  };
  return checkLogoContent(byExtension[path.extname(file).toLowerCase()] ?? 'application/octet-stream', bytes, maxBytes);
}

/** True when the URL is one of Gatehouse's own static files (the sandbox's logos). */
function isOwnStaticFile(url: URL, publicUrl: string): boolean {
  const base = new URL(`${publicUrl.replace(/\/+$/, '')}/static/`);
  return url.origin === base.origin && url.pathname.startsWith(base.pathname) && url.username === '' && url.password === '';
}

export function createLogoFetcher(options: LogoFetcherOptions): LogoFetcher {
  const download = options.download ?? ((target: DownloadTarget) => httpsDownload(target));
  const timeoutMs = options.timeoutMs ?? LOGO_TIMEOUT_MS;
  const maxBytes = options.maxBytes ?? LOGO_MAX_BYTES;

  return async (text) => {
    const url = parseLogoUrl(text);
    if (isOwnStaticFile(url, options.publicUrl)) return readSandboxLogo(url, options.publicDir, maxBytes);
    if (url.protocol !== 'https:') throw new LogoError('The logo URL must use https.');
    if (url.username || url.password) throw new LogoError('The logo URL must not carry a user name or password.');

    // WHATWG URL parsing already turned 0x7f.1, 2130706433 and friends into dotted quads.
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const started = Date.now();
    const check = await resolvePublicHost(host, { resolve: options.resolve, timeoutMs });
    if (!check.ok) {
      if (check.reason === 'timeout') throw new LogoError(`The logo's host name did not resolve within ${timeoutMs / 1000} s.`);
      if (check.reason === 'unresolvable') throw new LogoError(`The logo's host name "${host.slice(0, 100)}" does not resolve.`);
      throw new LogoError(
        'The logo URL leads to a private, loopback, link-local or otherwise non-public address; Gatehouse only fetches logos from the public internet.',
      );
    }
    const addresses = check.addresses;
    const remaining = Math.max(1, timeoutMs - (Date.now() - started));
    const result = await download({ url, address: addresses[0]!, timeoutMs: remaining, maxBytes });
    if (result.status >= 300 && result.status < 400) {
      throw new LogoError('The logo URL redirects; give the final URL of the image.');
    }
    if (result.status !== 200) throw new LogoError(`The logo server answered ${result.status}.`);
    return checkLogoContent(result.contentType, result.bytes, maxBytes);
  };
}
