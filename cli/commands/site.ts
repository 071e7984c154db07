/**
 * `pulpdist site`: run the embedded Pulp-compatible site until SIGTERM/SIGINT. Prints one line
 * `pulpdist site listening on URL` on stdout when ready; logs go to stderr.
 */
import { existsSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from '../command.js';
import { basicAuthOption, listenOption, listenUsageError, untilSignalled } from '../options.js';
import { UsageError } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import { VERSION } from '../../core/version.js';


export const command: Command = {
  name: 'site',
  summary: 'an embedded Pulp-compatible site (for demos, tests and small deployments)',
  usage: 'pulpdist site --listen HOST:PORT --data DIR [--content-origin URL] [--allowed-import-path DIR]… [--username U --password-env VAR] [--no-batch]',
  options: {
    listen: { type: 'string' },
    data: { type: 'string' },
    'content-origin': { type: 'string' },
    'allowed-import-path': { type: 'string', multiple: true },
    username: { type: 'string' },
    'password-env': { type: 'string' },
    workers: { type: 'string' },
    'no-batch': { type: 'boolean' },
    'log-format': { type: 'string' },
  },
  help: `
Serves the subset of the Pulp 3 REST API pulpdist uses at /pulp/api/v3/, the content app at
/pulp/content/ and counters at /pulpdist/metrics, all on one port, with metadata and artifacts
stored under --data.

  --listen HOST:PORT            where to listen; port 0 picks a free one (default 127.0.0.1:24817)
  --data DIR                    data directory (created if missing); required
  --content-origin URL          origin used in distributions' base_url (default: the listen origin)
  --allowed-import-path DIR     file:// remotes may read under DIR (repeatable; default: none)
  --username U                  require HTTP basic auth on the API (status/ and content stay public)
  --password-env VAR            environment variable holding the password for --username
  --workers N                   tasks that may run at once (default 8); 0 = no online worker:
                                status/ lists none and tasks stay waiting, as on a Pulp whose
                                workers are stopped (updates and deletes still run at once)
  --no-batch                    neither offer nor use batch fetches of small files between
                                embedded sites: one GET per file, as with a real Pulp (default:
                                offered, and used where an upstream offers them)
  --log-format text|json        request and task log lines on stderr (default text)

Example:
  PULP_PW=secret pulpdist site --listen 127.0.0.1:0 --data /tmp/site1 --username admin --password-env PULP_PW
`,
  async run({ values }) {
    const { host, port } = listenOption(values.listen, '127.0.0.1:24817');
    if (!values.data) throw new UsageError('--data DIR is required');
    const auth = basicAuthOption(values);
    const contentOrigin = values['content-origin'] === undefined ? undefined : String(values['content-origin']);
    if (contentOrigin !== undefined && !/^https?:\/\/[^/]+\/?$/.test(contentOrigin)) {
      throw new UsageError(`--content-origin must be an origin such as http://host:port, got "${contentOrigin}"`);
    }
    const workers = values.workers === undefined ? 8 : Number(values.workers);
    if (!Number.isInteger(workers) || workers < 0) throw new UsageError(`--workers must be an integer ≥ 0, got "${String(values.workers)}"`);
    const format = values['log-format'] === 'json' ? 'json' : 'text';
    const log = createLogger({ format, level: 'info' }, { component: 'site' });
    const { startSiteServer } = await import('../../site/server.js');
    const dataDir = String(values.data);
    // What the data directory held before: a site that never starts leaves nothing behind.
    const before = existsSync(dataDir) ? new Set(await readdir(dataDir)) : null;
    let running: Awaited<ReturnType<typeof startSiteServer>>;
    try {
      running = await startSiteServer({
        dataDir,
        host,
        port,
        contentOrigin,
        allowedImportPaths: ((values['allowed-import-path'] as string[] | undefined) ?? []).map(String),
        auth,
        log,
        version: VERSION,
        workers,
        batch: values['no-batch'] !== true,
      });
    } catch (err) {
      const usage = listenUsageError(err, host, port);
      if (!usage) throw err;
      // The directory this run created goes; in one that existed, only the entries this run added
      // (the store's empty metadata/ and artifacts/): what was there is the operator's.
      if (!before) await rm(dataDir, { recursive: true, force: true });
      else for (const name of await readdir(dataDir)) if (!before.has(name)) await rm(path.join(dataDir, name), { recursive: true, force: true });
      throw usage;
    }
    process.stdout.write(`pulpdist site listening on ${running.url}\n`);
    await untilSignalled((signal) => {
      log.info('stopping', { signal });
      return running.close(2000);
    });
    return 0;
  },
};
