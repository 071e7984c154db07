/**
 * The shaper: a forward proxy colocated with a site that holds all of that site's downloads under
 * one byte rate (`limits.bandwidth`). Pulp 3 can cap requests per second only (pulpcore#1893), so a
 * real Pulp whose remotes set `proxy_url` to the shaper gets the byte cap the embedded site
 * enforces by itself.
 *
 * Two layers. proxy-chain (Apify's, Apache-2.0) speaks the proxy protocol — absolute-form requests,
 * CONNECT tunnels, Basic auth — on a loopback port of its own; we do not write a proxy. In front of
 * it, a TCP relay paces the bytes going back to clients with one token bucket, so every tunnel and
 * request shares the cap whatever it carries (TLS included), and connections take turns chunk by
 * chunk: the bucket serves in the order of asking, so N busy connections get 1/N each, and two syncs
 * with the same download concurrency get half the cap each. Requests (client → upstream) are small
 * and pass unpaced.
 */
import { setMaxListeners } from 'node:events';
import net, { type AddressInfo } from 'node:net';
import { Server as ProxyServer } from 'proxy-chain';
import { TokenBucket } from './token-bucket.js';

export interface ShaperOptions {
  /** Address clients connect to. @default '127.0.0.1' */
  host?: string;
  /** @default 0 (a free port) */
  port?: number;
  /** Bytes per second for everything the shaper hands to its clients; null: no cap. */
  bandwidth: number | null;
  /** Basic credentials clients must give (`proxy_username`/`proxy_password`), if any. */
  auth?: { username: string; password: string };
}

export interface Shaper {
  /** `http://host:port`: what a remote's `proxy_url` names. */
  url: string;
  /** Bytes handed to clients, and connections accepted, so far. */
  stats(): { bytes: number; connections: number };
  close(): Promise<void>;
}

/** Start a shaper; `close` stops both layers and drops open connections. */
export async function startShaper(opts: ShaperOptions): Promise<Shaper> {
  if (opts.bandwidth !== null && !(Number.isInteger(opts.bandwidth) && opts.bandwidth >= 1)) {
    throw new RangeError(`bandwidth must be an integer ≥ 1 byte/s or null, got ${opts.bandwidth}`);
  }
  const proxy = new ProxyServer({
    port: 0,
    host: '127.0.0.1',
    verbose: false,
    prepareRequestFunction: ({ username, password }) => ({
      requestAuthentication: opts.auth !== undefined && (username !== opts.auth.username || password !== opts.auth.password),
    }),
  });
  // proxy-chain reports each failed client request on 'requestFailed'; the client gets its answer.
  proxy.on('requestFailed', () => undefined);
  await proxy.listen();
  const inner = proxy.port;

  const bucket = opts.bandwidth === null ? null : new TokenBucket(opts.bandwidth);
  const sockets = new Set<net.Socket>();
  let bytes = 0;
  let connections = 0;
  const closing = new AbortController();
  // Every connection waiting for tokens listens on it: as many as the clients' download concurrency.
  setMaxListeners(0, closing.signal);

  const relay = net.createServer((client) => {
    connections++;
    const upstream = net.connect({ host: '127.0.0.1', port: inner });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.setNoDelay(true);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined); // a close follows, handled below
    }
    client.pipe(upstream);
    client.on('close', () => upstream.destroy());
    // One chunk at a time per connection: pause, wait for its tokens, write it, go on.
    let inflight: Promise<void> = Promise.resolve();
    upstream.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      upstream.pause();
      inflight = (bucket ? bucket.take(chunk.length, closing.signal) : Promise.resolve())
        .then(() => new Promise<void>((resolve) => (client.destroyed || client.write(chunk) ? resolve() : client.once('drain', resolve))))
        .then(
          () => void upstream.resume(),
          () => void upstream.destroy(),
        );
    });
    // The upstream's end reaches the client after the chunks still waiting for tokens.
    const finish = () => void inflight.then(() => client.end());
    upstream.on('end', finish);
    upstream.on('close', finish);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      relay.once('error', reject);
      relay.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
    });
  } catch (err) {
    // The inner proxy listens already: left open, it kept `pulpdist shaper` on a busy port running
    // after its error.
    await proxy.close(true);
    throw err;
  }
  const { address, port } = relay.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    url: `http://${host}:${port}`,
    stats: () => ({ bytes, connections }),
    close: async () => {
      closing.abort();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => relay.close(() => resolve()));
      await proxy.close(true);
    },
  };
}
