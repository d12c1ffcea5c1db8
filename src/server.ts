/**
 * `npm start`: load the configuration, start one instance, print the one
 * line saying which parts are real or sandbox and where to go, and shut down
 * cleanly on SIGTERM/SIGINT.
 */
import { ConfigError, describeParts, loadConfig } from './config.js';
import { createLogger } from './http/logging.js';
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
  const logger = createLogger(config.logLevel);
  try {
    // Loaded after the settings are known good: a bad setting prints its one line and nothing else.
    const { startGatehouse } = await import('./runtime.js');
    gatehouse = await startGatehouse(config, { logger });
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

  // SIGTERM (an orchestrator): drain first, so the load balancer sees /readyz fail before the port closes;
  // SIGINT (a person at the terminal): stop now. Either way requests in flight finish before the pools close.
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    const drainSeconds = signal === 'SIGTERM' ? config.shutdownDrainSeconds : 0;
    logger.info({ signal, drainSeconds }, 'Gatehouse stopping');
    gatehouse.drain();
    if (drainSeconds > 0) await new Promise((resolve) => setTimeout(resolve, drainSeconds * 1000));
    try {
      await gatehouse.stop();
      logger.info('Gatehouse stopped');
      logger.flush?.();
      process.exit(0);
    } catch {
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

void main();
