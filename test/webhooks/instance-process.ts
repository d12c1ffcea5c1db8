/**
 * One more Gatehouse instance in a process of its own, on an existing
 * PostgreSQL schema, with the webhook workers running: the instance that
 * the killed-instance test kills with SIGKILL. Prints "ready" once working.
 */
import { startTestGatehouse } from '../support/harness.js';

const instance = await startTestGatehouse({
  database: 'postgres',
  schema: process.env.GATEHOUSE_TEST_SCHEMA!,
  env: JSON.parse(process.env.GATEHOUSE_TEST_ENV!) as Record<string, string>,
  tunables: JSON.parse(process.env.GATEHOUSE_TEST_TUNABLES!) as Record<string, unknown>,
});
await instance.gatehouse.webhooks.startWorkers();
process.stdout.write('ready\n');
