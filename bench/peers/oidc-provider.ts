/**
 * The peer for `npm run bench`: node-oidc-provider with its state in Redis,
 * doing `client_credentials` and introspection (RFC 7662), in its own
 * process as Gatehouse runs in its own. Configured the way its
 * documentation's example is: opaque tokens, one confidential client
 * authenticating with client_secret_basic.
 *
 * Env: PEER_PORT, PEER_REDIS_URL, PEER_REDIS_PREFIX, PEER_CLIENT_ID, PEER_CLIENT_SECRET.
 * Prints "peer ready" once listening.
 */
import Provider, { type Adapter, type AdapterPayload } from 'oidc-provider';
import { createClient } from 'redis';

const port = Number(process.env.PEER_PORT);
const prefix = process.env.PEER_REDIS_PREFIX ?? 'bench:peer:';
const redis = createClient({ url: process.env.PEER_REDIS_URL ?? 'redis://127.0.0.1:6379' });
redis.on('error', (err: Error) => process.stderr.write(`peer redis: ${err.message}\n`));
await redis.connect();

// As the documentation's example Redis adapter keeps them: consumables in a hash (so `consumed` is a field), the rest as JSON strings.
const CONSUMABLE = new Set(['AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);
const GRANTABLE = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);

class RedisAdapter implements Adapter {
  constructor(private readonly name: string) {}

  private key(id: string): string {
    return `${prefix}${this.name}:${id}`;
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
    const key = this.key(id);
    const multi = redis.multi();
    if (CONSUMABLE.has(this.name)) multi.hSet(key, { payload: JSON.stringify(payload) });
    else multi.set(key, JSON.stringify(payload));
    if (expiresIn) multi.expire(key, expiresIn);
    if (GRANTABLE.has(this.name) && payload.grantId) {
      const grantKey = `${prefix}grant:${payload.grantId}`;
      multi.rPush(grantKey, key);
      if (expiresIn) multi.expire(grantKey, expiresIn);
    }
    if (payload.userCode) multi.set(`${prefix}userCode:${payload.userCode}`, id, { EX: expiresIn });
    if (payload.uid) multi.set(`${prefix}uid:${payload.uid}`, id, { EX: expiresIn });
    await multi.exec();
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    const key = this.key(id);
    if (CONSUMABLE.has(this.name)) {
      const { payload, ...rest } = await redis.hGetAll(key);
      if (!payload) return undefined;
      return { ...rest, ...(JSON.parse(payload) as AdapterPayload) } as AdapterPayload;
    }
    const data = await redis.get(key);
    return data ? (JSON.parse(data) as AdapterPayload) : undefined;
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    const id = await redis.get(`${prefix}uid:${uid}`);
    return id ? this.find(id) : undefined;
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    const id = await redis.get(`${prefix}userCode:${userCode}`);
    return id ? this.find(id) : undefined;
  }

  async consume(id: string): Promise<void> {
    await redis.hSet(this.key(id), 'consumed', Math.floor(Date.now() / 1000));
  }

  async destroy(id: string): Promise<void> {
    await redis.del(this.key(id));
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    const grantKey = `${prefix}grant:${grantId}`;
    const keys = await redis.lRange(grantKey, 0, -1);
    await redis.del([...keys, grantKey]);
  }
}

const provider = new Provider(`http://127.0.0.1:${port}`, {
  adapter: RedisAdapter,
  clients: [
    {
      client_id: process.env.PEER_CLIENT_ID!,
      client_secret: process.env.PEER_CLIENT_SECRET!,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  scopes: ['read'],
  features: {
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    devInteractions: { enabled: false },
  },
});
provider.listen(port, () => process.stdout.write('peer ready\n'));
