/**
 * The logo fetch of a partner app registration: address, size, type and
 * redirect rules, the sandbox's own logos, and the TLS download itself.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { ROOT } from '../support/processes.js';
import {
  checkLogoContent,
  createLogoFetcher,
  httpsDownload,
  isPublicAddress,
  LogoError,
  sniffImageType,
  type DownloadResult,
  type DownloadTarget,
  type ResolvedAddress,
} from '../../src/admin/logo.js';
import { GIF, JPEG, PNG, SVG, WEBP } from './partner-app-fixtures.js';

describe('logo fetch rules', () => {
  it.each([
    ['127.0.0.1', false],
    ['127.255.255.254', false],
    ['10.1.2.3', false],
    ['172.16.0.1', false],
    ['172.31.255.255', false],
    ['192.168.1.1', false],
    ['169.254.169.254', false],
    ['100.64.0.1', false],
    ['0.0.0.0', false],
    ['224.0.0.1', false],
    ['239.255.255.250', false],
    ['255.255.255.255', false],
    ['192.0.2.1', false],
    ['198.18.0.1', false],
    ['::', false],
    ['::1', false],
    ['fe80::1', false],
    ['fc00::1', false],
    ['fd12:3456::1', false],
    ['ff02::1', false],
    ['fec0::1', false],
    ['::ffff:127.0.0.1', false],
    ['::ffff:7f00:1', false],
    ['::ffff:10.0.0.1', false],
    ['::ffff:169.254.169.254', false],
    ['::127.0.0.1', false],
    ['64:ff9b::10.0.0.1', false],
    ['2002:0a00:0001::1', false],
    ['2001:db8::1', false],
    ['2001::1', false],
    ['not-an-ip', false],
    ['fe80::1%eth0', false],
    ['93.184.216.34', true],
    ['172.32.0.1', true],
    ['8.8.8.8', true],
    ['2606:4700:4700::1111', true],
    ['::ffff:8.8.8.8', true],
    ['64:ff9b::8.8.8.8', true],
    ['2a00:1450:4001:81c::200e', true],
  ])('isPublicAddress(%s) is %s', (address, expected) => {
    expect(isPublicAddress(address)).toBe(expected);
  });

  it('sniffs the four formats and refuses SVG, HTML, mismatches, empty and oversized bodies', () => {
    expect(sniffImageType(PNG)).toBe('image/png');
    expect(sniffImageType(JPEG)).toBe('image/jpeg');
    expect(sniffImageType(GIF)).toBe('image/gif');
    expect(sniffImageType(WEBP)).toBe('image/webp');
    expect(sniffImageType(SVG)).toBeNull();
    expect(checkLogoContent('image/png; charset=binary', PNG).contentType).toBe('image/png');
    expect(checkLogoContent('IMAGE/WEBP', WEBP).contentType).toBe('image/webp');
    expect(() => checkLogoContent('image/svg+xml', SVG)).toThrow(/SVG is not accepted/);
    expect(() => checkLogoContent('text/html', PNG)).toThrow(LogoError);
    expect(() => checkLogoContent(null, PNG)).toThrow(/no content type/);
    expect(() => checkLogoContent('image/png', JPEG)).toThrow(/not a PNG image/);
    expect(() => checkLogoContent('image/gif', SVG)).toThrow(/not a GIF image/);
    expect(() => checkLogoContent('image/png', Buffer.alloc(0))).toThrow(/empty/);
    expect(() => checkLogoContent('image/png', Buffer.concat([PNG, Buffer.alloc(256 * 1024)]))).toThrow(/larger than 256 KB/);
  });

  const fetcherWith = (answers: ResolvedAddress[] | Error, result?: Partial<DownloadResult>) => {
    const calls: DownloadTarget[] = [];
    const fetcher = createLogoFetcher({
      publicUrl: 'http://localhost:3000',
      publicDir: path.join(ROOT, 'public'),
      resolve: async () => {
        if (answers instanceof Error) throw answers;
        return answers;
      },
      download: async (target) => {
        calls.push(target);
        return { status: 200, contentType: 'image/png', location: null, bytes: PNG, ...result };
      },
    });
    return { fetcher, calls };
  };

  it('resolves first, refuses a host with any non-public answer and never connects to it', async () => {
    for (const answers of [
      [{ address: '10.0.0.7', family: 4 }],
      [
        { address: '93.184.216.34', family: 4 },
        { address: '127.0.0.1', family: 4 },
      ],
      [{ address: 'fd00::5', family: 6 }],
    ] as ResolvedAddress[][]) {
      const { fetcher, calls } = fetcherWith(answers);
      await expect(fetcher('https://logo.partner.example/x.png')).rejects.toThrow(/non-public address/);
      expect(calls).toHaveLength(0);
    }
    const unresolvable = fetcherWith(new Error('ENOTFOUND'));
    await expect(unresolvable.fetcher('https://nowhere.invalid/x.png')).rejects.toThrow(/does not resolve/);
  });

  it('connects to the address it vetted, with the limits', async () => {
    const { fetcher, calls } = fetcherWith([{ address: '93.184.216.34', family: 4 }]);
    const logo = await fetcher('https://logo.partner.example/x.png');
    expect(logo.contentType).toBe('image/png');
    expect(calls).toHaveLength(1);
    expect(calls[0]!.address).toEqual({ address: '93.184.216.34', family: 4 });
    expect(calls[0]!.url.hostname).toBe('logo.partner.example');
    expect(calls[0]!.maxBytes).toBe(256 * 1024);
    expect(calls[0]!.timeoutMs).toBeLessThanOrEqual(5000);
  });

  it.each([
    ['a redirect', { status: 302, location: 'https://127.0.0.1/x.png', bytes: Buffer.alloc(0) }, /redirects/],
    ['a 404', { status: 404, bytes: Buffer.alloc(0) }, /answered 404/],
    ['SVG', { contentType: 'image/svg+xml', bytes: SVG }, /SVG is not accepted/],
    ['HTML', { contentType: 'text/html', bytes: Buffer.from('<html>') }, /PNG, JPEG, GIF or WebP/],
    ['a PNG label on other bytes', { contentType: 'image/png', bytes: SVG }, /not a PNG image/],
    ['too many bytes', { contentType: 'image/png', bytes: Buffer.concat([PNG, Buffer.alloc(300 * 1024)]) }, /larger than 256 KB/],
  ])('refuses %s', async (_case, result, message) => {
    const { fetcher } = fetcherWith([{ address: '93.184.216.34', family: 4 }], result);
    await expect(fetcher('https://logo.partner.example/x.png')).rejects.toThrow(message);
  });

  it('reads the sandbox logos from disk, and only under /static/ of its own URL', async () => {
    const { fetcher, calls } = fetcherWith([{ address: '93.184.216.34', family: 4 }]);
    expect((await fetcher('http://localhost:3000/static/demo-partner-logo.png')).bytes.equals(PNG)).toBe(true);
    await expect(fetcher('http://localhost:3001/static/demo-partner-logo.png')).rejects.toThrow(/must use https/);
    await expect(fetcher('http://localhost:3000/other/demo-partner-logo.png')).rejects.toThrow(/must use https/);
    expect(calls).toHaveLength(0);
  });

  describe('the TLS download itself, against a local https server', () => {
    let server: https.Server;
    let port: number;
    let ca: string;
    let dir: string;
    const target = (pathname: string, extra: Partial<DownloadTarget> = {}): DownloadTarget => ({
      // logo.test is never looked up: the socket goes to the pinned address, TLS checks the certificate against logo.test.
      url: new URL(`https://logo.test:${port}${pathname}`),
      address: { address: '127.0.0.1', family: 4 },
      timeoutMs: 2000,
      maxBytes: 256 * 1024,
      ...extra,
    });

    beforeAll(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-logo-tls-'));
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:prime256v1',
          '-nodes',
          '-days',
          '1',
          '-keyout',
          path.join(dir, 'key.pem'),
          '-out',
          path.join(dir, 'cert.pem'),
          '-subj',
          '/CN=logo.test',
          '-addext',
          'subjectAltName=DNS:logo.test',
        ],
        { stdio: 'ignore' },
      );
      ca = fs.readFileSync(path.join(dir, 'cert.pem'), 'utf8');
      server = https.createServer({ key: fs.readFileSync(path.join(dir, 'key.pem')), cert: ca }, (req, res) => {
        if (req.url === '/logo.png') return res.writeHead(200, { 'content-type': 'image/png' }).end(PNG);
        if (req.url === '/redirect') return res.writeHead(302, { location: 'https://127.0.0.1/x.png' }).end();
        if (req.url === '/declared-huge')
          return res.writeHead(200, { 'content-type': 'image/png', 'content-length': String(10 * 1024 * 1024) }).end();
        if (req.url === '/streamed-huge') {
          res.writeHead(200, { 'content-type': 'image/png' });
          const chunk = Buffer.alloc(64 * 1024);
          let sent = 0;
          const push = () => {
            if (sent++ > 20 || res.destroyed) return res.end();
            res.write(chunk, () => setImmediate(push));
          };
          return push();
        }
        if (req.url === '/slow') return; // never answers
        res.writeHead(404).end();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
      port = (server.address() as AddressInfo).port;
    });
    afterAll(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('downloads from the pinned address with the certificate checked against the host name', async () => {
      const result = await httpsDownload(target('/logo.png'), { ca });
      expect(result.status).toBe(200);
      expect(checkLogoContent(result.contentType, result.bytes).bytes.equals(PNG)).toBe(true);
      await expect(httpsDownload({ ...target('/logo.png'), url: new URL(`https://other.test:${port}/logo.png`) }, { ca })).rejects.toThrow(
        /certificate/,
      );
      await expect(httpsDownload(target('/logo.png'))).rejects.toThrow(/certificate/);
    });

    it('does not follow a redirect', async () => {
      const result = await httpsDownload(target('/redirect'), { ca });
      expect(result).toMatchObject({ status: 302, location: 'https://127.0.0.1/x.png' });
      expect(result.bytes).toHaveLength(0);
    });

    it('stops at 256 KB, declared or streamed, and at the deadline', async () => {
      await expect(httpsDownload(target('/declared-huge'), { ca })).rejects.toThrow(/larger than 256 KB/);
      await expect(httpsDownload(target('/streamed-huge'), { ca })).rejects.toThrow(/larger than 256 KB/);
      const started = Date.now();
      await expect(httpsDownload(target('/slow', { timeoutMs: 300 }), { ca })).rejects.toThrow(/did not answer within 0.3 s/);
      expect(Date.now() - started).toBeLessThan(2000);
    });
  });
});
