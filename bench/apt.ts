/** Debian packages the benchmarks need beyond Node (rsync, vmtouch), installed with apt-get when missing. */
import { spawnSync } from 'node:child_process';

/**
 * True when `present()` holds, after installing Debian package `pkg` with apt-get if it did not
 * (as root; CI's `.ci/run` installs them beforehand). Logs the install; false when it failed.
 */
export function ensurePackage(pkg: string, present: () => boolean, log: (line: string) => void): boolean {
  if (present()) return true;
  log(`${pkg} is missing: installing it with apt-get (Debian package \`${pkg}\`)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  const install = update.status === 0 ? spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', pkg], { stdio: 'inherit', env }) : update;
  return install.status === 0 && present();
}
