/** `npm run migrate`: apply migrations to DATABASE_URL, or to the embedded database in the data folder. */
import { ConfigError, loadConfig } from '../config.js';
import { dataFiles, lockDataDir } from './data-dir.js';
import { migrateToLatest, openDatabase } from './database.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const unlock = config.embedded ? await lockDataDir(config.dataDir, () => undefined) : null;
  const handle = config.databaseUrl
    ? await openDatabase({ kind: 'postgres', url: config.databaseUrl })
    : await openDatabase({ kind: 'pglite', dataDir: dataFiles.pglite(config.dataDir) });
  try {
    const applied = await migrateToLatest(handle);
    process.stdout.write(`${JSON.stringify({ applied })}\n`);
  } finally {
    await handle.close();
    await unlock?.();
  }
}

main().catch((err) => {
  process.stderr.write(`migrate: ${err instanceof ConfigError ? err.message : (err as Error).message}\n`);
  process.exit(1);
});
