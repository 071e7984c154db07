/**
 * Basic-auth credentials of one site. The password comes from the environment variable or the
 * file the Site spec names, is read once, registered with the redactor, and only ever leaves this
 * module inside an `Authorization` header value, never in a URL, message or log.
 */
import { readFile } from 'node:fs/promises';
import { ConfigError } from '../core/errors.js';
import { registerSecret } from '../core/redact.js';
import type { SiteSpec } from '../spec/types.js';

/** Gives the `Authorization` header value for a site, or null when its spec has no auth. */
export interface Credentials {
  /** Resolve (once) and return the header value; throws ConfigError if the secret is missing. */
  header(signal?: AbortSignal): Promise<string | null>;
  /** Where the password comes from, for messages: "environment variable X" / "password file Y". */
  readonly source: string | null;
  /** What to tell a human whose credentials were rejected. */
  readonly hint: string;
}

/** Credentials for `site`, reading `env` or the password file lazily on first use. */
export function siteCredentials(site: SiteSpec, env: NodeJS.ProcessEnv): Credentials {
  const auth = site.pulp.auth;
  if (!auth) {
    return {
      header: async () => null,
      source: null,
      hint: `site "${site.name}" has no spec.pulp.auth; add {username, passwordEnv} to its Site document`,
    };
  }
  const source = auth.passwordEnv
    ? `environment variable ${auth.passwordEnv}`
    : auth.passwordFile
      ? `password file ${auth.passwordFile}`
      : null;
  const hint = source
    ? `check the password of user "${auth.username}" in ${source} (site "${site.name}")`
    : `site "${site.name}" names no passwordEnv or passwordFile in spec.pulp.auth`;
  let cached: string | null = null;
  // Narrowed once here: a closure does not keep the `if (!auth)` narrowing above.
  const given = auth;

  async function readPassword(signal?: AbortSignal): Promise<string> {
    if (given.passwordEnv) {
      const value = env[given.passwordEnv];
      if (value === undefined || value === '') {
        throw new ConfigError(
          `site "${site.name}": environment variable ${given.passwordEnv} (spec.pulp.auth.passwordEnv) is not set; ` +
            `set it to the Pulp password of user "${given.username}"`,
        );
      }
      return value;
    }
    if (given.passwordFile) {
      let text: string;
      try {
        text = await readFile(given.passwordFile, { encoding: 'utf8', signal });
      } catch (err) {
        if ((err as { name?: string }).name === 'AbortError') throw err;
        const code = (err as NodeJS.ErrnoException).code ?? 'read error';
        throw new ConfigError(
          `site "${site.name}": cannot read password file ${given.passwordFile} (spec.pulp.auth.passwordFile): ${code}`,
          { cause: err },
        );
      }
      // Mounted secrets usually end with a newline that is not part of the password.
      const value = text.replace(/\r?\n$/, '');
      if (value === '') {
        throw new ConfigError(`site "${site.name}": password file ${given.passwordFile} (spec.pulp.auth.passwordFile) is empty`);
      }
      return value;
    }
    throw new ConfigError(`site "${site.name}": spec.pulp.auth names neither passwordEnv nor passwordFile`);
  }

  return {
    source,
    hint,
    async header(signal) {
      if (cached === null) {
        const password = await readPassword(signal);
        registerSecret(password);
        cached = 'Basic ' + Buffer.from(`${auth.username}:${password}`, 'utf8').toString('base64');
        // The encoded form is as good as the password to anyone who reads it.
        registerSecret(cached.slice('Basic '.length));
      }
      return cached;
    },
  };
}
