/** Running Lua scripts by hash, shared by every Redis-backed rule (budget, refresh lock, failure limiter). */
import { createHash } from 'node:crypto';

/**
 * The node-redis calls used here (a structural type, so tests can pass any client). On a Redis
 * Cluster the commander sends each command to the node of its first key (src/runtime/redis.ts):
 * a script's keys must share one hash tag.
 */
export interface RedisCommander {
  sendCommand(args: string[]): Promise<unknown>;
}

export function luaScript(source: string): { source: string; sha: string } {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/** EVALSHA, loading the script on NOSCRIPT (after a Redis restart or on a fresh server). */
export async function runScript(
  redis: RedisCommander,
  script: { source: string; sha: string },
  keys: string[],
  args: string[],
): Promise<unknown> {
  try {
    return await redis.sendCommand(['EVALSHA', script.sha, String(keys.length), ...keys, ...args]);
  } catch (err) {
    if (!String((err as Error)?.message ?? err).includes('NOSCRIPT')) throw err;
    return redis.sendCommand(['EVAL', script.source, String(keys.length), ...keys, ...args]);
  }
}
