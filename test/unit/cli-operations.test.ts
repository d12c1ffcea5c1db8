/**
 * The command line calls the same declared operations as the API and the
 * console: each `gatehouse` command's request is the operation its table
 * entry names (src/cli/operations.ts), and that operation is a declared
 * admin endpoint in the registry, in an authenticated zone.
 */
import { describe, expect, it } from '@jest/globals';
import { COMMANDS, type ParsedArgs } from '../../src/cli/gatehouse.js';
import { CLI_OPERATIONS } from '../../src/cli/operations.js';
import { endpointRegistry } from '../../src/http/endpoint-registry.js';

/** Values the commands' own checks accept, where a placeholder would not do. */
const SAMPLE: Record<string, string> = {
  limit: '10',
  restrict: 'approved_only',
  role: 'member',
  'auto-approve': 'on',
  agents: 'approved_hosts',
  hosts: 'example.com',
  since: '2026-01-01T00:00:00Z',
  until: '2026-01-02T00:00:00Z',
};

function sampleArgs(name: string): ParsedArgs {
  const command = COMMANDS[name]!;
  const flags = Object.entries(command.flags);
  return {
    values: Object.fromEntries(flags.filter(([, k]) => k === 'value').map(([f]) => [f, SAMPLE[f] ?? 'x1'])),
    repeated: Object.fromEntries(flags.filter(([, k]) => k === 'repeat').map(([f]) => [f, ['x1']])),
    switches: new Set(),
    positionals: (command.positionals ?? []).map(() => 'x1'),
  };
}

const pattern = (path: string) => new RegExp(`^${path.replace(/:[A-Za-z0-9_]+/g, '[^/]+')}$`);

describe('the command line', () => {
  const registry = endpointRegistry();

  it('maps every command, and only commands, onto an operation', () => {
    expect(Object.keys(CLI_OPERATIONS).sort()).toEqual(Object.keys(COMMANDS).sort());
  });

  it.each(Object.keys(COMMANDS))('%s calls its declared admin operation', (name) => {
    const expected = CLI_OPERATIONS[name]!;
    const call = COMMANDS[name]!.request(sampleArgs(name));
    expect(call.method.toLowerCase()).toBe(expected.method);
    expect(call.path.split('?')[0]).toMatch(pattern(expected.path));
    const declared = registry.find((e) => e.method === expected.method && e.path === expected.path);
    expect(declared).toBeDefined();
    expect(['owner', 'org-admin']).toContain(declared!.zone);
  });
});
