/**
 * One public URL in front of several Gatehouse instances, as a load balancer
 * would be: each HTTP request goes to the next instance in turn (not each
 * connection, so a keep-alive client still meets every instance). Counts
 * what each instance served.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RoundRobinProxy {
  url: string;
  server: http.Server;
  /** Backends, set after the instances started (they need the public URL first). */
  targets: string[];
  served: Map<string, number>;
  close(): Promise<void>;
}

export async function startRoundRobinProxy(): Promise<RoundRobinProxy> {
  let next = 0;
  const proxy: RoundRobinProxy = {
    url: '',
    targets: [],
    served: new Map(),
    server: http.createServer((req, res) => {
      const target = new URL(proxy.targets[next++ % proxy.targets.length]!);
      proxy.served.set(target.origin, (proxy.served.get(target.origin) ?? 0) + 1);
      const forwarded = http.request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      forwarded.on('error', () => {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      });
      req.pipe(forwarded);
    }),
    close: () => new Promise((resolve) => proxy.server.close(() => resolve())),
  };
  await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(proxy.server.address() as AddressInfo).port}`;
  return proxy;
}
