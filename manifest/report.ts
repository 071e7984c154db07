/** The text a person sees: the progress line and the closing summary. Pure formatting. */
import { formatBytes, formatDuration } from '../core/units.js';
import { unrepresentableReason } from './names.js';
import type { ScanProgress, ScanStats, SkippedLink, SkippedLinkReason } from './types.js';

const LINK_WHY: Record<SkippedLinkReason, string> = {
  dangling: 'its target does not exist',
  outside: 'its target is outside the tree',
  cycle: 'it loops (its target holds the link itself)',
  'too-deep': 'too many directory links inside one another',
  special: 'its target is not a file or directory',
};

/** The warning line for a symlink that was not followed (no newline). */
export function formatSkippedLink(l: SkippedLink): string {
  return `warning: left out symlink ${JSON.stringify(l.relativePath)} -> ${JSON.stringify(l.target)}: ${LINK_WHY[l.reason]}`;
}

/** One progress line (no newline): files and bytes hashed, rate and, once the walk is done, ETA. */
export function formatProgress(p: ScanProgress, elapsedMs: number): string {
  const rate = elapsedMs > 0 ? (p.bytesHashed * 1000) / elapsedMs : 0;
  const files = p.phase === 'walk' ? `${p.filesHashed}/${p.filesToHash}+ files` : `${p.filesHashed}/${p.filesToHash} files`;
  // Files not sized yet count at the mean size of those that are: an estimate, marked `~`.
  const sized = p.filesToHash - p.filesUnsized;
  const estimate = p.filesUnsized > 0;
  const toHash = estimate && sized > 0 ? p.bytesToHash + (p.bytesToHash / sized) * p.filesUnsized : p.bytesToHash;
  const total = estimate && sized === 0 ? '?' : `${estimate ? '~' : ''}${formatBytes(toHash)}${p.phase === 'walk' ? '+' : ''}`;
  const bytes = `${formatBytes(p.bytesHashed)}/${total}`;
  let eta = '';
  if (p.phase === 'hash' && rate > 0 && (!estimate || sized > 0)) eta = `, ETA ${estimate ? '~' : ''}${formatDuration((Math.max(0, toHash - p.bytesHashed) / rate) * 1000)}`;
  const seen = p.phase === 'walk' ? `, ${p.filesSeen} files seen` : '';
  return `hashing: ${files}, ${bytes}, ${formatBytes(rate)}/s${eta}${seen}`;
}

/** Why a path from `stats.unrepresentable` was left out (a trailing `/` marks a directory). */
export function unrepresentableWhy(relativePath: string): string {
  const isDir = relativePath.endsWith('/');
  // walk.ts reports names that are not UTF-8 with \xNN escapes of bytes from 0x80 up (checked
  // first: the escape's backslash would otherwise read as the reason).
  const reason = /\\x[89a-f][0-9a-f]/.test(relativePath)
    ? undefined
    : isDir
      ? unrepresentableReason(relativePath + 'x')
      : unrepresentableReason(relativePath);
  return (reason ?? 'its name is not valid UTF-8') + (isDir ? ' (a directory: everything below it)' : '');
}

/** The summary printed at the end of every run. */
export function formatSummary(stats: ScanStats, digest: string): string {
  const lines = [
    `${stats.files} files, ${formatBytes(stats.bytes)} in ${formatDuration(stats.durationMs)}: ` +
      `${stats.hashedFiles} hashed (${formatBytes(stats.hashedBytes)}), ${stats.cachedFiles} from cache (${formatBytes(stats.cachedBytes)})`,
  ];
  const left: string[] = [];
  const s = stats.skipped;
  if (s.symlinks) left.push(`${s.symlinks} symlink${s.symlinks === 1 ? '' : 's'}`);
  if (s.devices) left.push(`${s.devices} device${s.devices === 1 ? '' : 's'}`);
  if (s.sockets) left.push(`${s.sockets} socket${s.sockets === 1 ? '' : 's'}`);
  if (s.fifos) left.push(`${s.fifos} fifo${s.fifos === 1 ? '' : 's'}`);
  if (s.other) left.push(`${s.other} other special file${s.other === 1 ? '' : 's'}`);
  if (left.length) lines.push(`not listed (not regular files; Pulp serves only files): ${left.join(', ')}`);
  if (stats.links.followed || stats.links.skipped.length) {
    lines.push(`symlinks: ${stats.links.followed} followed, ${stats.links.skipped.length} left out (dangling, outside the tree or looping)`);
  }
  if (stats.excluded) lines.push(`excluded: ${stats.excluded} path${stats.excluded === 1 ? '' : 's'}`);
  if (stats.unrepresentable.length) lines.push(`${stats.unrepresentable.length} file${stats.unrepresentable.length === 1 ? '' : 's'} left out: names Pulp cannot carry`);
  if (stats.vanished) lines.push(`vanished while scanning (not listed): ${stats.vanished}`);
  if (stats.cache.error) lines.push(`cache not used: ${stats.cache.error}`);
  lines.push(`tree digest: sha256:${digest}`);
  return lines.join('\n');
}
