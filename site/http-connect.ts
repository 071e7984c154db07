/**
 * How `http-get.ts` reaches an origin: directly, or through the remote's forward proxy as real
 * Pulp (aiohttp) does — an http origin by absolute-form requests to the proxy, an https origin by
 * a CONNECT tunnel with TLS from us to the origin, verified end to end (the proxy sees only
 * ciphertext). Proxy credentials go to the proxy alone, as Proxy-Authorization.
 */
import net from 'node:net';
import tls from 'node:tls';
import { HttpGetError } from './http-errors.js';
import { parseHead, printable } from './http-head.js';

/** TLS settings of a remote. */
export interface GetTls {
  rejectUnauthorized: boolean;
  ca?: string;
  cert?: string;
  key?: string;
}

/** A forward proxy: `http://host:port`, with the Proxy-Authorization value if it needs one. */
export interface GetProxy {
  url: URL;
  authorization: string | null;
}

/** Node's `onread` option: reads into a buffer we own (see http-get.ts). */
export interface OnRead {
  buffer: () => Buffer;
  callback: (n: number, b: Buffer) => boolean;
}

/** The way to an origin: opens the socket with our `onread`, and says how requests are written. */
export interface Route {
  /** `onread: false` when Node ignores the option (TLS over a tunnel): reads come as 'data' events. */
  open(onread: OnRead): { socket: net.Socket; onread: boolean };
  /** Request targets in absolute form (`GET http://host/path`), for a proxy. */
  absoluteForm: boolean;
  /** Headers every request on this route carries (Proxy-Authorization). */
  headers: Record<string, string>;
}

const MAX_HEAD = 64 * 1024;

function hostPort(url: URL, defaultPort: number): { host: string; port: number } {
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port) || defaultPort };
}

function tlsOptions(host: string, t: GetTls | undefined): tls.ConnectionOptions {
  const o: tls.ConnectionOptions = { rejectUnauthorized: t?.rejectUnauthorized ?? true };
  if (!net.isIP(host)) o.servername = host;
  if (t?.ca) o.ca = t.ca;
  if (t?.cert) o.cert = t.cert;
  if (t?.key) o.key = t.key;
  return o;
}

/** The route to `url`'s origin; a tunnel through the proxy is set up here (CONNECT). */
export async function routeTo(url: URL, opts: { tls?: GetTls; proxy?: GetProxy }, req: { signal: AbortSignal; timeoutMs: number }): Promise<Route> {
  const https = url.protocol === 'https:';
  const target = hostPort(url, https ? 443 : 80);
  const proxy = opts.proxy;
  if (!proxy) {
    return {
      absoluteForm: false,
      headers: {},
      open: (onread) => ({
        socket: https ? tls.connect({ ...tlsOptions(target.host, opts.tls), ...target, onread } as tls.ConnectionOptions) : net.connect({ ...target, onread }),
        onread: true,
      }),
    };
  }
  const via = hostPort(proxy.url, 80);
  const proxyHeaders: Record<string, string> = proxy.authorization ? { 'Proxy-Authorization': proxy.authorization } : {};
  if (!https) return { absoluteForm: true, headers: proxyHeaders, open: (onread) => ({ socket: net.connect({ ...via, onread }), onread: true }) };
  const raw = await connectTunnel(via, `${url.hostname}:${target.port}`, proxyHeaders, req);
  return {
    absoluteForm: false,
    headers: {},
    // Node ignores `onread` when TLS wraps a socket it is given: such reads come as 'data' events.
    open: () => ({ socket: tls.connect({ ...tlsOptions(target.host, opts.tls), socket: raw }), onread: false }),
  };
}

/** A TCP connection to the proxy turned into a tunnel to `authority` by CONNECT. */
function connectTunnel(via: { host: string; port: number }, authority: string, headers: Record<string, string>, req: { signal: AbortSignal; timeoutMs: number }): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    req.signal.throwIfAborted();
    const sock = net.connect(via);
    sock.setNoDelay(true);
    let head = '';
    const done = (err: Error | null) => {
      sock.removeListener('data', onData);
      sock.removeListener('error', onError);
      sock.removeListener('close', onClose);
      sock.removeListener('timeout', onTimeout);
      req.signal.removeEventListener('abort', onAbort);
      sock.setTimeout(0);
      if (err) {
        sock.destroy();
        reject(err);
      } else resolve(sock);
    };
    const onData = (d: Buffer) => {
      const before = head.length;
      head += d.toString('latin1');
      const at = head.indexOf('\r\n\r\n');
      if (at < 0) {
        if (head.length > MAX_HEAD) done(new HttpGetError(`the proxy's answer to CONNECT is longer than ${MAX_HEAD} bytes`, 'protocol'));
        return;
      }
      sock.pause();
      const parsed = parseHead(head.slice(0, at));
      if (typeof parsed === 'string') return done(new HttpGetError(`the proxy's answer to CONNECT: ${parsed}`, 'protocol'));
      if (parsed.status < 200 || parsed.status >= 300) {
        return done(new HttpGetError(`the proxy refused CONNECT ${authority}: ${parsed.status} ${printable(parsed.statusMessage)}`, 'proxy-refused'));
      }
      // The origin speaks TLS second, so nothing may follow the proxy's answer yet.
      if (at + 4 - before < d.length) return done(new HttpGetError('bytes after the proxy\'s answer to CONNECT', 'protocol'));
      done(null);
    };
    const onError = (err: NodeJS.ErrnoException) => done(new HttpGetError(`proxy ${via.host}:${via.port}: ${err.message}`, err.code ?? 'error'));
    const onClose = () => done(new HttpGetError('the proxy closed the connection during CONNECT', 'closed'));
    const onTimeout = () => done(new HttpGetError('Timeout on reading data from socket', 'timeout'));
    const onAbort = () => done(req.signal.reason as Error);
    sock.on('data', onData);
    sock.on('error', onError);
    sock.on('close', onClose);
    sock.on('timeout', onTimeout);
    sock.setTimeout(req.timeoutMs);
    req.signal.addEventListener('abort', onAbort, { once: true });
    const lines = [`CONNECT ${authority} HTTP/1.1`, `Host: ${authority}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
    sock.write(lines.join('\r\n') + '\r\n\r\n');
  });
}
