/**
 * `pulpdist shaper`: a forward proxy colocated with a site that holds all of that site's downloads
 * under one byte rate, for Pulp servers that cannot cap bytes per second themselves. A Site whose
 * spec names it in `limits.shaper` gets `proxy_url` set on every remote. Prints one line
 * `pulpdist shaper listening on URL` on stdout when ready; runs until SIGTERM/SIGINT.
 */
import type { Command } from '../command.js';
import { UsageError } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import { formatBytes, parseBandwidth } from '../../core/units.js';
import { basicAuthOption, listenOption, listenUsageError, untilSignalled } from '../options.js';

export const command: Command = {
  name: 'shaper',
  summary: 'a forward proxy that caps one site\'s downloads in bytes per second (the byte cap for real Pulp)',
  usage: 'pulpdist shaper --bandwidth RATE [--listen 127.0.0.1:3128] [--username U --password-env VAR]',
  options: {
    listen: { type: 'string' },
    bandwidth: { type: 'string' },
    username: { type: 'string' },
    'password-env': { type: 'string' },
  },
  help: `
Pulp 3 can limit requests per second only. Run a shaper beside a site's Pulp, name it in the Site
spec (limits.shaper: http://HOST:PORT) and the controller points every remote of that site at it
(proxy_url): all of the site's downloads, over http and https (CONNECT), share one token bucket,
and concurrent syncs share the rate fairly. Give it the same rate as the spec's limits.bandwidth.

  --bandwidth RATE        the cap, e.g. 50MiB/s or 200Mbit/s; required
  --listen HOST:PORT      where to listen (default 127.0.0.1:3128; port 0 picks a free one)
  --username U            require proxy Basic auth (the remotes' proxy_username)
  --password-env VAR      environment variable holding the proxy password for --username

Example:
  pulpdist shaper --bandwidth 50MiB/s --listen 127.0.0.1:3128
`,
  async run({ values }) {
    const { host, port } = listenOption(values.listen, '127.0.0.1:3128');
    if (values.bandwidth === undefined) throw new UsageError('--bandwidth RATE is required, e.g. --bandwidth 50MiB/s');
    let bandwidth: number;
    try {
      bandwidth = Math.max(1, Math.floor(parseBandwidth(String(values.bandwidth))));
    } catch {
      throw new UsageError(`--bandwidth must be a rate such as 50MiB/s or 200Mbit/s, got "${String(values.bandwidth)}"`);
    }
    const auth = basicAuthOption(values);
    const log = createLogger({ format: 'text', level: 'info' }, { component: 'shaper' });
    const { startShaper } = await import('../../site/shaper.js');
    let shaper;
    try {
      shaper = await startShaper({ host, port, bandwidth, ...(auth ? { auth } : {}) });
    } catch (err) {
      throw listenUsageError(err, host, port) ?? err;
    }
    process.stdout.write(`pulpdist shaper listening on ${shaper.url} (cap ${formatBytes(bandwidth)}/s)\n`);
    const running = shaper;
    await untilSignalled((signal) => {
      log.info('stopping', { signal, ...running.stats() });
      return running.close();
    });
    return 0;
  },
};
