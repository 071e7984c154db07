/**
 * `pulpdist run`: the controller process. Runs until SIGTERM/SIGINT, then stops new work, waits
 * (bounded) for the running pass to record its tasks, writes status and exits 0.
 */
import { ConfigError, UsageError } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import { registerSecret } from '../../core/redact.js';
import { durationOption, envControllerId } from '../options.js';
import { checkControllerId } from '../../core/controller-id.js';
import type { Command } from '../command.js';
import { VERSION } from '../../core/version.js';


export const command: Command = {
  name: 'run',
  summary: 'the controller: watch the Git repository and reconcile continuously',
  usage: 'pulpdist run --repo URL|PATH [--branch main] [--path DIR] [--status-branch pulpdist/status] [--listen 127.0.0.1:8080] [--interval 30s] [--state-dir DIR] [--webhook-secret-env VAR] [--log-format text|json] [--once] [--lease 30s [--lease-renew 10s]] [--controller-id ID]',
  options: {
    repo: { type: 'string' },
    branch: { type: 'string', default: 'main' },
    path: { type: 'string', default: '' },
    'status-branch': { type: 'string', default: 'pulpdist/status' },
    listen: { type: 'string', default: '127.0.0.1:8080' },
    interval: { type: 'string', default: '30s' },
    'pass-deadline': { type: 'string', default: '1h' },
    'state-dir': { type: 'string' },
    'webhook-secret-env': { type: 'string' },
    'log-format': { type: 'string', default: 'text' },
    'log-level': { type: 'string', default: 'info' },
    'shutdown-grace': { type: 'string', default: '30s' },
    'request-timeout': { type: 'string', default: '30s' },
    once: { type: 'boolean', default: false },
    lease: { type: 'string' },
    'lease-branch': { type: 'string', default: 'pulpdist/lease' },
    'lease-renew': { type: 'string' },
    'controller-id': { type: 'string' },
  },
  help: `
Watches the spec branch of a Git repository and keeps every Pulp site as the specs say: a pass
runs on every new commit (a local repository is watched; a remote one is polled every --interval
and poked by the webhook), every --interval for drift repair, and when a mirror's schedule comes
due. An invalid commit is not applied: its problems are shown (file:line:column) and the last
valid commit stays in force. Status is committed to --status-branch and served at --listen.

options:
  --repo URL|PATH          the spec repository: a local path (read from its commits, never the
                           work tree), an http(s) URL, or an SSH URL (ssh://git@host/group/repo.git
                           or git@host:group/repo.git, through the system git and ssh); URLs are
                           cloned into --state-dir
  --branch B               the spec branch (default main)
  --path DIR               the spec directory inside the repository (default: the whole tree)
  --status-branch B        where status commits go (default pulpdist/status; '' for none)
  --listen ADDR            the status endpoint, host:port (default 127.0.0.1:8080; '' for none)
  --interval D             drift repair and polling period, ±10% jitter (default 30s)
  --pass-deadline D        a pass running longer is aborted, its syncs canceled (default 1h)
  --state-dir DIR          clones, caches and the views of source.readOnly trees, under
                           DIR/sources/ (default $XDG_STATE_HOME/pulpdist or
                           ~/.local/state/pulpdist)
  --webhook-secret-env VAR enable POST /hooks/git, authenticated with the secret in $VAR
                           (GitLab X-Gitlab-Token or GitHub X-Hub-Signature-256)
  --log-format text|json   (default text)
  --log-level L            debug, info, warn or error (default info)
  --shutdown-grace D       on SIGTERM, how long a running pass may take to finish (default 30s)
  --request-timeout D      time allowed for one request to a Pulp site (default 30s)
  --once                   run one pass, write status and exit: 0 converged, 1 not
  --lease D                run as one of several replicas (same repository, same status
                           branch): only the one holding a lease of D kept in Git reconciles and
                           writes; the others serve the last committed status, answer /readyz
                           with 503 "standby", and take over when the lease runs out (within
                           2 × D after the active one died; at once after a clean stop). A replica
                           that lost its lease exits with 1 for its service manager to restart it.
                           e.g. --lease 30s (default: a single replica, no lease)
  --lease-renew D          how often the active replica renews the lease and a standby looks at it
                           (default and longest: a third of --lease, so that a renewal that fails
                           at once is tried again while the lease still holds)
  --lease-branch B         the lease's branch (default pulpdist/lease)
  --controller-id ID       this controller's id, carried by the label pulpdist_controller on every
                           Pulp object it makes; it never changes or deletes objects of another id,
                           so several spec repositories can share one Pulp. Replicas of one
                           controller share it. Default: derived from --repo (an origin URL for a
                           local path), --branch and --path, as pulpdist plan derives it in a
                           clone; logged at start (controllerId). PULPDIST_CONTROLLER_ID in the
                           environment does the same as the option

environment:
  PULPDIST_GIT_USERNAME, PULPDIST_GIT_TOKEN (or PULPDIST_GIT_PASSWORD)  credentials for an
                           http(s) repository; never logged
  PULPDIST_GIT_SSH_KEY_FILE      the private key (deploy key) file for an SSH repository
  PULPDIST_GIT_SSH_KNOWN_HOSTS   the known_hosts file its host key is checked against (default
                           ~/.ssh/known_hosts; an unknown host key is always an error)
  the passwordEnv variables the Site specs name                     credentials for Pulp

examples:
  pulpdist run --repo ~/src/mirrors --path mirrors
  PULPDIST_GIT_SSH_KEY_FILE=/etc/pulpdist/deploy-key pulpdist run --repo git@gitlab.example.com:infra/mirrors.git
  pulpdist run --repo https://gitlab.example.com/infra/mirrors.git --interval 1m \\
      --webhook-secret-env PULPDIST_WEBHOOK_SECRET --log-format json
`,
  async run({ values }) {
    const repo = values.repo;
    if (typeof repo !== 'string' || !repo) throw new UsageError('--repo is required (a local path, an http(s) URL or an SSH URL)');
    const logFormat = values['log-format'];
    if (logFormat !== 'text' && logFormat !== 'json') throw new UsageError(`--log-format must be text or json, got "${String(logFormat)}"`);
    const level = values['log-level'];
    if (level !== 'debug' && level !== 'info' && level !== 'warn' && level !== 'error') throw new UsageError(`--log-level must be debug, info, warn or error, got "${String(level)}"`);
    const intervalMs = durationOption('interval', values.interval, '30s');
    const passDeadlineMs = durationOption('pass-deadline', values['pass-deadline'], '1h');
    const graceMs = durationOption('shutdown-grace', values['shutdown-grace'], '30s');
    const requestTimeoutMs = durationOption('request-timeout', values['request-timeout'], '30s');
    let webhookSecret: string | undefined;
    const secretEnv = values['webhook-secret-env'];
    if (typeof secretEnv === 'string' && secretEnv) {
      webhookSecret = process.env[secretEnv];
      if (!webhookSecret) throw new ConfigError(`--webhook-secret-env names ${secretEnv}, but that environment variable is not set`);
      registerSecret(webhookSecret);
    }
    const leaseMs = typeof values.lease === 'string' && values.lease !== '' ? durationOption('lease', values.lease, '30s') : null;
    if (leaseMs !== null && leaseMs < 3_000) throw new UsageError(`--lease must be at least 3s (it is renewed every third of it over Git), got ${String(values.lease)}`);
    const renewMs = durationOption('lease-renew', values['lease-renew']);
    if (renewMs !== undefined && leaseMs === null) throw new UsageError('--lease-renew needs --lease');
    if (renewMs !== undefined && leaseMs !== null && (renewMs < 500 || renewMs > leaseMs / 3)) {
      throw new UsageError(`--lease-renew must be between 500ms and a third of --lease (${String(values.lease)}), got ${String(values['lease-renew'])}`);
    }
    const idValue = values['controller-id'];
    const controllerId = typeof idValue === 'string' ? checkControllerId(idValue) : envControllerId();
    const log = createLogger({ format: logFormat, level });
    const { startController } = await import('../../controller/start.js');
    const once = values.once === true;
    const running = await startController({
      repo,
      branch: String(values.branch),
      path: String(values.path ?? ''),
      statusBranch: String(values['status-branch'] ?? ''),
      listen: once ? null : String(values.listen ?? '') || null,
      intervalMs,
      passDeadlineMs,
      requestTimeoutMs,
      stateDir: typeof values['state-dir'] === 'string' ? values['state-dir'] : undefined,
      webhookSecret,
      version: VERSION,
      log,
      autoStart: !once,
      ...(controllerId ? { controllerId } : {}),
      ...(leaseMs !== null ? { lease: { durationMs: leaseMs, branch: String(values['lease-branch']), ...(renewMs !== undefined ? { renewEveryMs: renewMs } : {}) } } : {}),
    });
    if (running.url) process.stdout.write(`pulpdist controller: status at ${running.url}/\n`);
    if (once) {
      const result = await running.controller.runOnce();
      await running.close({ graceMs });
      const doc = running.controller.getStatus();
      return result?.converged && doc.controller.specErrors.length === 0 ? 0 : 1;
    }
    const ended = await new Promise<{ lost: string } | null>((resolve) => {
      const onSignal = (sig: string): void => {
        log.info('signal received: finishing the running pass, then exiting', { signal: sig, graceMs });
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
        resolve(null);
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
      void running.lost?.then((why) => resolve({ lost: why }));
    });
    // A replica that lost its lease stops at once: it may not write any more anyway.
    if (ended) log.error('lease lost: this replica stops; its service manager starts it again as a standby', { reason: ended.lost });
    await running.close({ graceMs: ended ? 0 : graceMs });
    log.info('controller stopped');
    // Everything we started is closed; a keep-alive socket of a library must not hold the exit.
    setTimeout(() => process.exit(ended ? 1 : 0), 3_000).unref();
    return ended ? 1 : 0;
  },
};
