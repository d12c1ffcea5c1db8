/** Workspace icons: a small generated SVG per workspace, so icon URLs resolve without files or outside hosts. */
import type { Request, Response } from 'express';
import type { SandboxState } from './state.js';
import { workspaceIconUrl } from './seed.js';

const PALETTE = ['#2f6feb', '#8250df', '#1a7f37', '#bf3989', '#9a6700'];

export function serveWorkspaceIcon(state: SandboxState, publicUrl: string) {
  return (req: Request, res: Response): void => {
    const index = state.workspaces.findIndex((w) => workspaceIconUrl(publicUrl, w.name).endsWith(`/icons/${String(req.params.name)}.svg`));
    if (index === -1) {
      res.status(404).end();
      return;
    }
    const workspace = state.workspaces[index];
    const letter = workspace.name
      .charAt(0)
      .toUpperCase()
      .replace(/[^A-Z0-9]/, '?');
    res.type('image/svg+xml').setHeader('Cache-Control', 'public, max-age=86400');
    res.send(
      `<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64"><rect width="64" height="64" rx="12" fill="${PALETTE[index % PALETTE.length]}"/><text x="32" y="42" font-family="sans-serif" font-size="30" text-anchor="middle" fill="#fff">${letter}</text></svg>`,
    );
  };
}
