/**
 * A throwaway three-master Redis Cluster on free loopback ports, owned by one
 * test file: three `redis-server --cluster-enabled yes` children (each in a
 * folder of its own, so their nodes.conf never meet), joined by
 * `redis-cli --cluster create`. `destroy()` kills them and removes the folders.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { freePort, startOwnRedis, type OwnRedis } from '../support/own-services.js';

const exec = promisify(execFile);

export interface OwnRedisCluster {
  /** The seeds, as REDIS_URL names them with GATEHOUSE_REDIS_CLUSTER=1. */
  url: string;
  nodes: OwnRedis[];
  destroy(): Promise<void>;
}

export async function startRedisCluster(masters = 3): Promise<OwnRedisCluster> {
  const nodes: OwnRedis[] = [];
  const destroy = async () => {
    await Promise.all(nodes.map((node) => node.destroy()));
  };
  try {
    for (let i = 0; i < masters; i++) {
      // Ports one by one: two free ports asked for at once could come back equal.
      const port = await freePort();
      const node = await startOwnRedis({ port, extraArgs: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf'] });
      nodes.push(node);
    }
    const addresses = nodes.map((node) => `127.0.0.1:${node.port}`);
    await exec('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-yes'], { timeout: 30_000 });
    // Every node must agree before a client asks for the slots.
    const deadline = Date.now() + 20_000;
    for (;;) {
      const states = await Promise.all(
        nodes.map(async (node) => (await exec('redis-cli', ['-p', String(node.port), 'cluster', 'info'])).stdout),
      );
      if (states.every((info) => info.includes('cluster_state:ok'))) break;
      if (Date.now() > deadline) throw new Error(`Redis Cluster not ok after 20 s:\n${states.join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return { url: nodes.map((node) => node.url).join(','), nodes, destroy };
  } catch (err) {
    await destroy();
    throw err;
  }
}
