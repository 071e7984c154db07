/**
 * A real RabbitMQ (Debian's rabbitmq-server, with its AMQP 1.0 plugin) for tests and benchmarks,
 * started as our own processes: its own epmd and node on free loopback ports, its data and logs in
 * a temp dir, nothing of the system's service touched. `stop` and `start` restart the same node
 * (same data, same port), as a broker restart in production would. `consumeEvents` reads an
 * address back as CloudEvents.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import rhea from 'rhea';
import type { Connection, EventContext } from 'rhea';
import { fromAmqpMessage } from '../events/amqp-binding.js';

const RABBITMQ_HOME = '/usr/lib/rabbitmq';
const SERVER = path.join(RABBITMQ_HOME, 'bin', 'rabbitmq-server');

/** Why RabbitMQ cannot be used here, or undefined when it can. */
export function rabbitmqMissing(): string | undefined {
  if (!existsSync(SERVER)) return `${SERVER} not found: install the Debian package rabbitmq-server (.ci/run does)`;
  const lib = path.join(RABBITMQ_HOME, 'lib');
  const plugins = readdirSync(lib).flatMap((d) => (existsSync(path.join(lib, d, 'plugins')) ? readdirSync(path.join(lib, d, 'plugins')) : []));
  if (!plugins.some((p) => p.startsWith('rabbitmq_amqp1_0'))) return 'the rabbitmq_amqp1_0 plugin is not installed';
  if (!existsSync('/usr/bin/epmd')) return '/usr/bin/epmd (erlang-base) not found';
  return undefined;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface Broker {
  /** `amqp://127.0.0.1:PORT` (the AMQP 1.0 plugin shares the 0-9-1 listener). */
  url: string;
  port: number;
  /** `amqps://127.0.0.1:PORT` when started with `tls`. */
  tlsUrl?: string;
  /** Log of the current run (for failure messages). */
  output(): string;
  /** SIGTERM the node and wait until it has exited. */
  stop(): Promise<void>;
  /** Start the node again on the same port and data. */
  start(): Promise<void>;
  /** Stop the node and epmd, remove the temp dir. */
  close(): Promise<void>;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Start a broker; resolves once it logs "Server startup complete" (within `timeoutMs`). */
export async function startRabbitMQ(options: { timeoutMs?: number; tls?: { certFile: string; keyFile: string } } = {}): Promise<Broker> {
  const { timeoutMs = 120_000, tls } = options;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pulpdist-rabbitmq-'));
  await mkdir(path.join(dir, 'mnesia'));
  await mkdir(path.join(dir, 'log'));
  const [port, distPort, epmdPort] = [await freePort(), await freePort(), await freePort()];
  await writeFile(path.join(dir, 'enabled_plugins'), '[rabbitmq_amqp1_0].\n');
  // guest may log in from loopback only by default; the broker listens nowhere else anyway.
  const tlsPort = tls ? await freePort() : undefined;
  // The test certificate is its own CA; clients are not asked for certificates.
  const tlsConf = tls ? `listeners.ssl.1 = 127.0.0.1:${tlsPort}\nssl_options.cacertfile = ${tls.certFile}\nssl_options.certfile = ${tls.certFile}\nssl_options.keyfile = ${tls.keyFile}\nssl_options.verify = verify_none\nssl_options.fail_if_no_peer_cert = false\n` : '';
  await writeFile(path.join(dir, 'rabbitmq.conf'), `listeners.tcp.1 = 127.0.0.1:${port}\nloopback_users = none\n${tlsConf}`);
  const epmd = spawn('/usr/bin/epmd', ['-address', '127.0.0.1', '-port', String(epmdPort)], { stdio: 'ignore' });
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: dir,
    LANG: 'C.UTF-8',
    ERL_EPMD_PORT: String(epmdPort),
    RABBITMQ_NODENAME: `pulpdist-test-${process.pid}-${port}@localhost`,
    RABBITMQ_MNESIA_BASE: path.join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: path.join(dir, 'log'),
    RABBITMQ_LOGS: '-',
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_ENABLED_PLUGINS_FILE: path.join(dir, 'enabled_plugins'),
    RABBITMQ_CONFIG_FILE: path.join(dir, 'rabbitmq'),
    RABBITMQ_PID_FILE: path.join(dir, 'pid'),
    // Erlang distribution on loopback only (by default it listens on every interface).
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
  };
  let node: ChildProcess | undefined;
  let log = '';

  const start = async () => {
    log = '';
    // Its own process group: the script forks beam.smp, and stop() must reach both.
    const child = spawn(SERVER, [], { env, cwd: dir, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    node = child;
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`RabbitMQ did not start within ${timeoutMs} ms:\n${log.slice(-3000)}`)), timeoutMs);
      const onData = (chunk: Buffer) => {
        log += chunk.toString('utf8');
        if (log.includes('Server startup complete')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`RabbitMQ exited (${code ?? signal}) before it was ready:\n${log.slice(-3000)}`));
      });
    });
    try {
      await ready;
    } catch (err) {
      await stop();
      throw err;
    }
  };

  const stop = async () => {
    const child = node;
    if (!child?.pid) return;
    node = undefined;
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      return; // already gone
    }
    const killer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* gone between the check and the kill */
      }
    }, 30_000);
    await exited(child);
    clearTimeout(killer);
    // The script exits with beam.smp; wait until the group is empty so that the port is free.
    for (let i = 0; i < 300; i++) {
      try {
        process.kill(-child.pid, 0);
      } catch {
        return;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  };

  try {
    await start();
  } catch (err) {
    epmd.kill();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    url: `amqp://127.0.0.1:${port}`,
    port,
    ...(tlsPort ? { tlsUrl: `amqps://127.0.0.1:${tlsPort}` } : {}),
    output: () => log,
    stop,
    start,
    close: async () => {
      await stop();
      epmd.kill();
      await exited(epmd);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** What a consumer of one address has received. */
export interface EventConsumer {
  /** Each message as a structured CloudEvent, in arrival order (repeats included). */
  events: Record<string, unknown>[];
  raw: rhea.Message[];
  /** Arrival time (epoch ms) of each of `events`. */
  at: number[];
  waitFor(check: () => boolean, what: string, timeoutMs?: number): Promise<void>;
  close(): void;
}

/** A rhea consumer of `address` (guest, loopback), reconnecting on its own like the sink. */
export function consumeEvents(url: string, address: string): EventConsumer {
  const u = new URL(url);
  const container = rhea.create_container({ id: `consumer-${address}` });
  const conn: Connection = container.connect({ host: u.hostname, port: Number(u.port), username: 'guest', password: 'guest', reconnect: true, initial_reconnect_delay: 100, max_reconnect_delay: 500, all_errors_non_fatal: true });
  // A broker stopped on purpose: the consumer reconnects, no unhandled 'error'.
  conn.on('disconnected', () => {});
  conn.on('connection_error', () => {});
  conn.on('error', () => {});
  conn.open_receiver({ source: { address } });
  const events: Record<string, unknown>[] = [];
  const raw: rhea.Message[] = [];
  const at: number[] = [];
  conn.on('message', (ctx: EventContext) => {
    at.push(Date.now());
    raw.push(ctx.message!);
    events.push(fromAmqpMessage(ctx.message!));
  });
  return {
    events,
    raw,
    at,
    async waitFor(check, what, timeoutMs = 60_000) {
      const until = Date.now() + timeoutMs;
      while (!check()) {
        if (Date.now() > until) throw new Error(`timed out waiting for ${what} (got ${events.length} events)`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close() {
      conn.set_reconnect(false);
      conn.close();
    },
  };
}
