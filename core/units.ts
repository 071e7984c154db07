/** Parsing and printing of the units specs use: durations, byte sizes, bandwidths. */

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** The pattern schemas use for durations: `30s`, `15m`, `6h`, `1d`, `1h30m`, `500ms`. */
export const DURATION_PATTERN = '^([0-9]+(ms|s|m|h|d))+$';

/** Milliseconds of a duration such as `1h30m`; throws RangeError on anything else. */
export function parseDuration(text: string): number {
  if (!new RegExp(DURATION_PATTERN).test(text)) {
    throw new RangeError(`invalid duration "${text}" (use e.g. 30s, 15m, 6h, 1d)`);
  }
  let ms = 0;
  for (const m of text.matchAll(/([0-9]+)(ms|s|m|h|d)/g)) ms += Number(m[1]) * (DURATION_UNITS[m[2]] ?? 0);
  return ms;
}

const BYTE_UNITS: Record<string, number> = {
  B: 1, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12,
  KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4,
  bit: 1 / 8, Kbit: 1e3 / 8, Mbit: 1e6 / 8, Gbit: 1e9 / 8,
};

/** The pattern schemas use for bandwidths: `50MiB/s`, `200Mbit/s`, `1GB/s`. */
export const BANDWIDTH_PATTERN = '^[0-9]+(\\.[0-9]+)?(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB|bit|Kbit|Mbit|Gbit)/s$';

/** Bytes per second of a bandwidth such as `50MiB/s`; throws RangeError on anything else. */
export function parseBandwidth(text: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)([A-Za-z]+)\/s$/.exec(text);
  const unit = m ? BYTE_UNITS[m[2]] : undefined;
  if (!m || unit === undefined) throw new RangeError(`invalid bandwidth "${text}" (use e.g. 50MiB/s, 200Mbit/s)`);
  return Math.floor(Number(m[1]) * unit);
}

/** Human byte count in binary units: `1.2 GiB`, `512 B`. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = Math.abs(n);
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  const s = i === 0 ? String(v) : v.toFixed(v >= 100 ? 0 : 1);
  return `${n < 0 ? '-' : ''}${s} ${units[i]}`;
}

/** Human duration: `850ms`, `12.3s`, `4m05s`, `2h10m`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
