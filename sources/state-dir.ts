/** The controller's state directory, shared by `pulpdist run`, `plan` and `apply`. */
import os from 'node:os';
import path from 'node:path';

/** `$XDG_STATE_HOME/pulpdist`, else `~/.local/state/pulpdist`. */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_STATE_HOME && path.isAbsolute(env.XDG_STATE_HOME) ? env.XDG_STATE_HOME : path.join(os.homedir(), '.local', 'state');
  return path.join(base, 'pulpdist');
}

/** The rescan caches of scanned trees inside a state directory. */
export function manifestCacheDir(stateDir: string): string {
  return path.join(stateDir, 'manifest-cache');
}
