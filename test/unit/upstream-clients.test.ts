import { describe, expect, it } from '@jest/globals';
import { upstreamClients } from '../../src/upstream/credentials.js';
import type { NotionUpstream } from '../../src/upstream/notion.js';

const upstream: NotionUpstream = {
  baseUrl: 'http://127.0.0.1:1',
  clientId: 'gatehouse',
  clientSecret: 'not-used',
  notionVersion: '2025-09-03',
  timeoutMs: 1000,
};

/** Counts decryptions: each is one call of the access-token function. */
function decryptions() {
  const seen: string[] = [];
  return { seen, of: (token: string) => () => (seen.push(token), token) };
}

describe('upstream clients, one per stored credential', () => {
  it('builds a connection’s client once for the same ciphertext and decrypts only then', () => {
    const clients = upstreamClients();
    const decrypt = decryptions();
    const first = clients.clientFor(upstream, 'conn-1', 'v1.k.a', decrypt.of('secret-a'));
    const again = clients.clientFor(upstream, 'conn-1', 'v1.k.a', decrypt.of('secret-a'));
    expect(again).toBe(first);
    expect(decrypt.seen).toEqual(['secret-a']);
  });

  it('replaces the client when the stored credential changes (a refresh stores a new ciphertext)', () => {
    const clients = upstreamClients();
    const decrypt = decryptions();
    const before = clients.clientFor(upstream, 'conn-1', 'v1.k.a', decrypt.of('secret-a'));
    const after = clients.clientFor(upstream, 'conn-1', 'v1.k.b', decrypt.of('secret-b'));
    expect(after).not.toBe(before);
    // The old credential is not kept beside the new one.
    expect(clients.clientFor(upstream, 'conn-1', 'v1.k.b', decrypt.of('secret-b'))).toBe(after);
    expect(clients.clientFor(upstream, 'conn-1', 'v1.k.a', decrypt.of('secret-a'))).not.toBe(before);
    expect(decrypt.seen).toEqual(['secret-a', 'secret-b', 'secret-a']);
  });

  it('keeps connections and Notion-Versions apart', () => {
    const clients = upstreamClients();
    const decrypt = decryptions();
    const one = clients.clientFor(upstream, 'conn-1', 'v1.k.a', decrypt.of('a'));
    const other = clients.clientFor(upstream, 'conn-2', 'v1.k.a', decrypt.of('a'));
    const older = clients.clientFor({ ...upstream, notionVersion: '2022-06-28' }, 'conn-1', 'v1.k.a', decrypt.of('a'));
    expect(new Set([one, other, older]).size).toBe(3);
  });

  it('drops a forgotten connection’s clients', () => {
    const clients = upstreamClients();
    const decrypt = decryptions();
    const before = clients.clientFor(upstream, 'conn-1', 'v1.k.a', decrypt.of('a'));
    const kept = clients.clientFor(upstream, 'conn-2', 'v1.k.c', decrypt.of('c'));
    clients.forget('conn-1');
    expect(clients.clientFor(upstream, 'conn-1', 'v1.k.a', decrypt.of('a'))).not.toBe(before);
    expect(clients.clientFor(upstream, 'conn-2', 'v1.k.c', decrypt.of('c'))).toBe(kept);
  });

  it('is bounded: the least recently used client goes first', () => {
    const clients = upstreamClients(2);
    const decrypt = decryptions();
    const one = clients.clientFor(upstream, 'conn-1', 'x1', decrypt.of('1'));
    const two = clients.clientFor(upstream, 'conn-2', 'x2', decrypt.of('2'));
    expect(clients.clientFor(upstream, 'conn-1', 'x1', decrypt.of('1'))).toBe(one);
    clients.clientFor(upstream, 'conn-3', 'x3', decrypt.of('3'));
    expect(clients.clientFor(upstream, 'conn-1', 'x1', decrypt.of('1'))).toBe(one);
    expect(clients.clientFor(upstream, 'conn-2', 'x2', decrypt.of('2'))).not.toBe(two);
  });
});
