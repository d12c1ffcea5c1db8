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

function ipv4Bytes(ip: string): number[] {
  return ip.split('.').map(Number);
}

/** 16 bytes of an IPv6 address in any textual form (RFC 4291 §2.2), dotted tail included. */
export function ipv6Bytes(ip: string): number[] | null {
  if (ip.includes('%')) return null; // zone ids only exist for link-local scopes
  let text = ip;
  let tail: number[] = [];
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    if (net.isIPv4(dotted[1]!) === false) return null;
    tail = ipv4Bytes(dotted[1]!);
    text = `${text.slice(0, dotted.index)}0:0`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const parse = (part: string) => (part === '' ? [] : part.split(':'));
  const head = parse(halves[0]!);
  const rest = halves.length === 2 ? parse(halves[1]!) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...rest];
  const bytes: number[] = [];
  for (const group of groups) {
    if (!/^[0-9a-f]{1,4}$/i.test(group)) return null;
    const value = parseInt(group, 16);
    bytes.push(value >> 8, value & 0xff);
  }
  if (tail.length) bytes.splice(12, 4, ...tail);
  return bytes;
}

function inIpv4Range(bytes: number[], base: [number, number, number, number], prefix: number): boolean {
  const value = ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
  const start = ((base[0] << 24) | (base[1] << 16) | (base[2] << 8) | base[3]) >>> 0;
  const mask = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
  return (value & mask) === (start & mask);
}

/** IANA special-purpose IPv4 blocks (RFC 6890 and its updates) that a public logo never lives on. */
const IPV4_REFUSED: Array<[[number, number, number, number], number]> = [
  [[0, 0, 0, 0], 8], // "this network", 0.0.0.0 unspecified
  [[10, 0, 0, 0], 8], // private (RFC 1918)
  [[100, 64, 0, 0], 10], // shared address space, carrier-grade NAT (RFC 6598)
  [[127, 0, 0, 0], 8], // loopback
  [[169, 254, 0, 0], 16], // link-local (cloud metadata endpoints live here)
  [[172, 16, 0, 0], 12], // private
  [[192, 0, 0, 0], 24], // IETF protocol assignments
  [[192, 0, 2, 0], 24], // documentation
  [[192, 88, 99, 0], 24], // 6to4 relay anycast (deprecated)
  [[192, 168, 0, 0], 16], // private
  [[198, 18, 0, 0], 15], // benchmarking
  [[198, 51, 100, 0], 24], // documentation
  [[203, 0, 113, 0], 24], // documentation
  [[224, 0, 0, 0], 4], // multicast
  [[240, 0, 0, 0], 4], // reserved, and 255.255.255.255 broadcast
];

function isPublicIpv4(bytes: number[]): boolean {
  return !IPV4_REFUSED.some(([base, prefix]) => inIpv4Range(bytes, base, prefix));
}

function isPublicIpv6(bytes: number[]): boolean {
  const startsWith = (prefix: number[], bits: number) => {
    for (let bit = 0; bit < bits; bit++) {
      const byte = bit >> 3;
      const mask = 0x80 >> (bit & 7);
      if ((bytes[byte]! & mask) !== (prefix[byte]! & mask)) return false;
    }
    return true;
  };
  const v6 = (ip: string) => ipv6Bytes(ip)!;
  // IPv4 inside IPv6: judge the IPv4 address it leads to.
  if (startsWith(v6('::ffff:0:0'), 96)) return isPublicIpv4(bytes.slice(12)); // IPv4-mapped (RFC 4291 §2.5.5.2)
  if (startsWith(v6('64:ff9b::'), 96)) return isPublicIpv4(bytes.slice(12)); // NAT64 well-known prefix (RFC 6052)
  if (startsWith(v6('2002::'), 16)) return isPublicIpv4(bytes.slice(2, 6)); // 6to4 (RFC 3056)
  // Only global unicast (2000::/3) is public at all: this refuses ::, ::1, IPv4-compatible ::/96,
  // fc00::/7 unique-local, fe80::/10 link-local, fec0::/10 site-local and ff00::/8 multicast.
  if (!startsWith(v6('2000::'), 3)) return false;
  if (startsWith(v6('2001::'), 23)) return false; // IETF protocol assignments, Teredo included (RFC 6890)
  if (startsWith(v6('2001:db8::'), 32)) return false; // documentation
  if (startsWith(v6('3fff::'), 20)) return false; // documentation (RFC 9637)
  return true;
}

/** True only for a public unicast address; anything unparsable is refused. */
export function isPublicAddress(ip: string): boolean {
  const family = net.isIP(ip);
  if (family === 4) return isPublicIpv4(ipv4Bytes(ip));
  if (family === 6) {
    const bytes = ipv6Bytes(ip);
    return bytes !== null && isPublicIpv6(bytes);
  }
  return false;
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
  const resolveHost = options.resolve ?? systemResolve;
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
    let addresses: ResolvedAddress[];
    if (net.isIP(host)) {
      addresses = [{ address: host, family: net.isIP(host) === 6 ? 6 : 4 }];
    } else {
      try {
        addresses = await withDeadline(resolveHost(host), timeoutMs, `The logo's host name did not resolve within ${timeoutMs / 1000} s.`);
      } catch (err) {
        if (err instanceof LogoError) throw err;
        throw new LogoError(`The logo's host name "${host.slice(0, 100)}" does not resolve.`);
      }
      if (addresses.length === 0) throw new LogoError(`The logo's host name "${host.slice(0, 100)}" does not resolve.`);
    }
    // Every answer must be public: a host that resolves to one public and one private address is refused.
    if (addresses.some((a) => !isPublicAddress(a.address))) {
      throw new LogoError(
        'The logo URL leads to a private, loopback, link-local or otherwise non-public address; Gatehouse only fetches logos from the public internet.',
      );
    }
    const remaining = Math.max(1, timeoutMs - (Date.now() - started));
    const result = await download({ url, address: addresses[0]!, timeoutMs: remaining, maxBytes });
    if (result.status >= 300 && result.status < 400) {
      throw new LogoError('The logo URL redirects; give the final URL of the image.');
    }
    if (result.status !== 200) throw new LogoError(`The logo server answered ${result.status}.`);
    return checkLogoContent(result.contentType, result.bytes, maxBytes);
  };
}

function withDeadline<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new LogoError(message)), ms);
    }),
  ]);
}
