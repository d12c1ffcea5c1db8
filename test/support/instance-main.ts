/**
 * One Gatehouse instance as its own process, for tests that kill and restart
 * instances (./instances.ts): the production wiring (startGatehouse), plus
 * the PostgreSQL schema a test file owns, which no production setting names,
 * and the deployment's tunables.
 * Prints the ready line `npm start` prints, and stops cleanly on SIGTERM.
 */
import { describeParts, loadConfig } from '../../src/config.js';
import { startGatehouse } from '../../src/runtime.js';

const config = loadConfig();
// The deployment's overrides of config/defaults.json, as a config/local.json would give them.
config.tunables = { ...config.tunables, ...(JSON.parse(process.env.GATEHOUSE_TEST_TUNABLES ?? '{}') as Partial<typeof config.tunables>) };
const gatehouse = await startGatehouse(config, { databaseSchema: process.env.GATEHOUSE_TEST_SCHEMA, periodicJobs: false });
process.stdout.write(`${describeParts(config)}\n`);
process.on('SIGTERM', () => {
  gatehouse.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
