/**
 * The closed list of audit actions: every action the source records is on
 * it, every entry is recorded somewhere, and the store refuses one that is
 * not on it even when it arrives as a plain string.
 */
import { describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import path from 'node:path';
import { AUDIT_ACTIONS, isAuditAction } from '../../src/audit/actions.js';
import { auditStore } from '../../src/store/audit.js';
import type { AuditEvent } from '../../src/store/audit.js';
import { ROOT } from '../support/processes.js';

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? sourceFiles(full) : e.name.endsWith('.ts') ? [full] : [];
  });
}

describe('audit actions', () => {
  const source = sourceFiles(path.join(ROOT, 'src'))
    .filter((f) => !f.endsWith(path.join('audit', 'actions.ts')))
    .map((f) => fs.readFileSync(f, 'utf8'))
    .join('\n');

  it('are resource.action names, each with who records it and what it targets', () => {
    for (const [action, spec] of Object.entries(AUDIT_ACTIONS)) {
      expect(action).toMatch(/^[a-z_]+\.[a-z_]+$/);
      expect(spec.actors.length).toBeGreaterThan(0);
      expect(spec.summary.length).toBeGreaterThan(0);
    }
  });

  it('lists nothing the source never records', () => {
    const unused = Object.keys(AUDIT_ACTIONS).filter((action) => {
      const [resource, verb] = action.split('.');
      // Subscription actions are recorded through one helper taking the verb alone.
      return !source.includes(`'${action}'`) && !(resource === 'webhook_subscription' && source.includes(`'${verb}'`));
    });
    expect(unused).toEqual([]);
  });

  it('the store refuses an unlisted action that slipped past the type checker, writing nothing', async () => {
    let wrote = false;
    const db = { insertInto: () => ((wrote = true), { values: () => ({ execute: async () => undefined }) }) };
    const store = auditStore(db as unknown as Parameters<typeof auditStore>[0]);
    const event = { action: 'made.up', actor: { type: 'system' }, outcome: 'success' } as unknown as AuditEvent;
    await expect(store.record(event, new Date())).rejects.toThrow(/not on the list/);
    expect(wrote).toBe(false);
    expect(isAuditAction('grant.revoked')).toBe(true);
  });
});
