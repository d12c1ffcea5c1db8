/**
 * deploy/compose.yaml parses and says what a deployment needs: PostgreSQL,
 * Redis with append-only persistence, two Gatehouse instances sharing them
 * behind a TLS-terminating proxy that follows /readyz, and every setting in
 * the example environment file is one Gatehouse reads. (`docker compose
 * config` is the fuller check; this machine's docker has no compose plugin.)
 */
import { describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { ROOT } from '../support/processes.js';

const compose = parse(fs.readFileSync(path.join(ROOT, 'deploy/compose.yaml'), 'utf8'), { merge: true }) as {
  services: Record<string, { image?: string; command?: string[]; env_file?: string[]; environment?: Record<string, string> }>;
};

describe('deploy/compose.yaml', () => {
  it('runs PostgreSQL, Redis with AOF, two instances and a TLS proxy', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['gatehouse-1', 'gatehouse-2', 'postgres', 'proxy', 'redis']);
    expect(compose.services.redis!.command).toEqual(expect.arrayContaining(['--appendonly', 'yes']));
    for (const name of ['gatehouse-1', 'gatehouse-2']) {
      expect(compose.services[name]!.env_file).toEqual(['gatehouse.env']);
      expect(compose.services[name]!.environment).toMatchObject({ GATEHOUSE_TRUST_PROXY: '1' });
    }
    const caddyfile = fs.readFileSync(path.join(ROOT, 'deploy/Caddyfile'), 'utf8');
    expect(caddyfile).toMatch(/reverse_proxy gatehouse-1:3000 gatehouse-2:3000/);
    expect(caddyfile).toMatch(/health_uri \/readyz/);
  });

  it('names in its example environment only settings Gatehouse reads, and every one production requires', () => {
    const example = fs.readFileSync(path.join(ROOT, 'deploy/gatehouse.env.example'), 'utf8');
    const keys = [...example.matchAll(/^([A-Z_]+)=/gm)].map((m) => m[1]!);
    const config = fs.readFileSync(path.join(ROOT, 'src/config.ts'), 'utf8');
    for (const key of keys) expect([key, config.includes(`'${key}'`)]).toEqual([key, true]);
    for (const required of [
      'DATABASE_URL',
      'REDIS_URL',
      'GATEHOUSE_PUBLIC_URL',
      'GATEHOUSE_ENCRYPTION_KEYS',
      'GATEHOUSE_SESSION_SECRET',
      'GATEHOUSE_OIDC_ISSUER',
      'GATEHOUSE_NOTION_BASE_URL',
    ])
      expect(keys).toContain(required);
  });
});
