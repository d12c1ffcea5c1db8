/**
 * An instance killed (SIGKILL) while it holds a delivery mid-attempt loses
 * nothing: once the attempt's lease runs out, the instance that goes on (its
 * sweep) makes the same attempt again, with the same webhook-id.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SEED_PAGE_IDS, SEED_WORKSPACE_IDS } from '../../src/sandbox/notion/index.js';
import { startTestGatehouse, testKeys, type TestGatehouse } from '../support/harness.js';
import { ROOT } from '../support/processes.js';
import { connectPartner } from '../proxy/partner-session.js';
import { pageParent, storeEvent, subscribe, type Receiver } from './support.js';

async function until(check: () => boolean | Promise<boolean>, ms: number, step?: () => Promise<unknown>): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await step?.();
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('an instance killed mid-delivery', () => {
  const env = testKeys();
  const tunables = { webhookRetryScheduleSeconds: [0, 1], webhookRetryJitter: 0, webhookDeliveryTimeoutMs: 4000 };
  let survivor: TestGatehouse;
  let child: ChildProcess | null = null;
  let receiver: Receiver;
  let ada: string;

  beforeAll(async () => {
    survivor = await startTestGatehouse({ database: 'postgres', env, tunables });
    const clock = { now: () => new Date() };
    const partner = await connectPartner(survivor.gatehouse, survivor.url, {
      capabilities: ['read_content'],
      pageIds: [SEED_PAGE_IDS.engineering],
      clock,
    });
    ada = (await survivor.gatehouse.stores.connections.findById(partner.connectionId))!.notionUserId;
    ({ receiver } = await subscribe(survivor.gatehouse, { appId: partner.registered.app.id, events: ['page.content_updated'] }));
    child = spawn(process.execPath, ['--import', 'tsx', 'test/webhooks/instance-process.ts'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH!,
        HOME: process.env.HOME ?? '/tmp',
        GATEHOUSE_TEST_SCHEMA: survivor.schema!,
        GATEHOUSE_TEST_ENV: JSON.stringify(env),
        GATEHOUSE_TEST_TUNABLES: JSON.stringify(tunables),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    await new Promise<void>((resolve, reject) => {
      child!.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('ready')) resolve();
      });
      child!.on('exit', (code) => reject(new Error(`instance exited with ${code}`)));
    });
  });
  afterAll(async () => {
    child?.kill('SIGKILL');
    await receiver?.close();
    await survivor?.stop();
  });

  it("the other instance's worker takes the delivery; killed mid-POST; the survivor sends the attempt again", async () => {
    receiver.answers = ['hang'];
    await storeEvent(
      survivor.gatehouse,
      {
        type: 'page.content_updated',
        workspaceId: SEED_WORKSPACE_IDS.acme,
        entity: { id: SEED_PAGE_IDS.architecture, type: 'page' },
        data: { ...pageParent(SEED_PAGE_IDS.engineering), updated_blocks: [] },
        accessibleBy: [ada],
      },
      new Date(),
    );
    // Only the child runs workers: the first POST is its.
    await until(() => receiver.received.length === 1, 20_000);
    const [row] = await survivor.gatehouse.database.db.selectFrom('webhook_deliveries').selectAll().execute();
    expect(row).toMatchObject({ status: 'sending', attempts: 1 });
    child!.kill('SIGKILL');
    await new Promise((resolve) => child!.once('exit', resolve));
    child = null;

    // The survivor's sweep: nothing to do while the dead instance's lease runs, then the same attempt again.
    expect((await survivor.gatehouse.webhooks.runDue()).attempts).toEqual([]);
    await until(
      () => receiver.received.length === 2,
      30_000,
      () => survivor.gatehouse.webhooks.runDue(),
    );
    const [first, again] = receiver.received;
    expect(again!.headers['webhook-id']).toBe(first!.headers['webhook-id']);
    expect(again!.json.attempt_number).toBe(1);
    expect(again!.notionValid && again!.standardValid[0]).toBe(true);
    const [after] = await survivor.gatehouse.database.db.selectFrom('webhook_deliveries').selectAll().execute();
    expect(after).toMatchObject({ status: 'delivered', attempts: 1 });
  }, 90_000);
});
