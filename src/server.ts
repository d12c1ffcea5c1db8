/**
 * `npm start`: load the configuration, start one instance, print the one
 * line saying which parts are real or sandbox and where to go, and shut down
 * cleanly on SIGTERM/SIGINT.
 */
import { ConfigError, describeParts, loadConfig } from './config.js';
import { DataDirLockedError } from './store/data-dir.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`Gatehouse cannot start: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  let gatehouse;
  try {
    // Loaded after the settings are known good: a bad setting prints its one line and nothing else.
    const { startGatehouse } = await import('./runtime.js');
    gatehouse = await startGatehouse(config);
  } catch (err) {
    if (err instanceof DataDirLockedError) {
      process.stderr.write(`Gatehouse cannot start: ${err.message}\n`);
      process.exit(1);
    }
    if ((err as NodeJS.ErrnoException)?.code === 'EADDRINUSE') {
      process.stderr.write(`Gatehouse cannot start: PORT: ${config.port} is already in use\n`);
      process.exit(1);
    }
    process.stderr.write(`Gatehouse cannot start: ${(err as Error)?.message ?? String(err)}\n`);
    process.exit(1);
  }
  process.stdout.write(`${describeParts(config)}\n`);

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`Gatehouse stopping (${signal})\n`);
    gatehouse.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

void main();
