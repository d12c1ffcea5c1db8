/**
 * Organisation-wide commands: the workspaces you may see, and re-encrypting stored credentials under the current key.
 * Entries of the command line's table (./gatehouse.ts).
 */
import type { Command } from './command.js';

export const ORGANISATION_COMMANDS: Record<string, Command> = {
  'workspaces list': {
    summary: 'list the workspaces you may see',
    usage: 'workspaces list',
    flags: {},
    request: () => ({ method: 'GET', path: '/api/admin/v1/workspaces' }),
  },
  'keys rotate': {
    summary: 're-encrypt every stored credential under the current key',
    usage: 'keys rotate',
    flags: {},
    request: () => ({ method: 'POST', path: '/api/admin/v1/keys/rotate', body: {} }),
  },
};
