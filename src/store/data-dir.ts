/**
 * The data folder of the embedded default: PGlite's files, generated secrets,
 * and the files the command line reads (URL, bootstrap admin token).
 * One process per folder: two PGlite processes on one folder corrupt it, so
 * the server holds a lock and a second one stops with a clear message.
 */
import fs from 'node:fs';
import path from 'node:path';
import lockfile from 'proper-lockfile';

export class DataDirLockedError extends Error {
  constructor(readonly dataDir: string) {
    super(`GATEHOUSE_DATA_DIR: ${dataDir} is in use by another Gatehouse process; stop it first or choose another data folder`);
    this.name = 'DataDirLockedError';
  }
}

export async function lockDataDir(dataDir: string, onCompromised: (err: Error) => void): Promise<() => Promise<void>> {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  try {
    return await lockfile.lock(dataDir, {
      lockfilePath: path.join(dataDir, 'gatehouse.lock'),
      stale: 15_000,
      update: 5_000,
      realpath: false,
      onCompromised,
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOCKED') throw new DataDirLockedError(dataDir);
    throw err;
  }
}

export const dataFiles = {
  url: (dataDir: string) => path.join(dataDir, 'url'),
  adminToken: (dataDir: string) => path.join(dataDir, 'admin-token'),
  secrets: (dataDir: string) => path.join(dataDir, 'secrets.json'),
  pglite: (dataDir: string) => path.join(dataDir, 'pglite'),
  sandboxNotion: (dataDir: string) => path.join(dataDir, 'sandbox-notion.json'),
};

/** Write a file only its owner can read (mode 0600), atomically. */
export function writePrivateFile(file: string, contents: string): void {
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temp, contents, { mode: 0o600 });
  fs.chmodSync(temp, 0o600);
  fs.renameSync(temp, file);
}
