/**
 * What the machine charges for the two operations that move the benchmarks' figures most from one
 * host to another: creating a file (every downstream creates one per file it receives) and the
 * first touch of a fresh memory page (every new process and buffer pays it). Both vary by an order
 * of magnitude between virtual machines of the same size, and even between directories of one
 * filesystem on one machine (docs/benchmarks.md, "Reading figures from another machine"), so
 * `bench:rsync`, `bench:sync` and `bench:manifest` measure them where they run and print them
 * beside their figures.
 */
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import path from 'node:path';

export interface MachineCosts {
  /** The directory whose filesystem the creates were timed on (the benchmark's work dir). */
  dir: string;
  /** One `open(O_CREAT|O_EXCL)` + `close` of an empty file, in microseconds: median and 90th percentile. */
  file_create_us_p50: number;
  file_create_us_p90: number;
  /** The first write to a fresh 4 KiB page (a minor page fault), in microseconds. */
  page_touch_us: number;
  /**
   * The hypervisor takes back memory this guest frees (virtio-balloon free page reporting): true,
   * false, or undefined where it cannot be told (no /sys). Memory it took back costs about ten times
   * as much to touch again, and a run that writes into it pays that for every page it writes.
   */
  free_memory_reported?: boolean;
}

/** Files created to time a create: enough for a stable median, few enough to take well under a second on a slow disk. */
const CREATES = 200;
/** Fresh memory touched to time a page fault. */
const TOUCH_BYTES = 16 * 1024 * 1024;
const PAGE = 4096;

/**
 * Time CREATES file creates in a temp directory made inside `dir` (removed again), and the first
 * touch of TOUCH_BYTES of fresh memory. Synchronous: it runs before the timed runs, nothing waits.
 */
export function measureMachineCosts(dir: string): MachineCosts {
  const scratch = mkdtempSync(path.join(dir, '.machine-costs-'));
  const times: number[] = [];
  try {
    for (let i = 0; i < CREATES; i++) {
      const t0 = process.hrtime.bigint();
      closeSync(openSync(path.join(scratch, String(i)), 'wx'));
      times.push(Number(process.hrtime.bigint() - t0) / 1e3);
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  times.sort((a, b) => a - b);
  const t0 = process.hrtime.bigint();
  // allocUnsafeSlow: memory of its own, never a slice of Node's pool, so every page is fresh.
  Buffer.allocUnsafeSlow(TOUCH_BYTES).fill(1);
  const touchUs = Number(process.hrtime.bigint() - t0) / 1e3 / (TOUCH_BYTES / PAGE);
  const reported = freeMemoryReported();
  return {
    dir,
    file_create_us_p50: round1(times[Math.floor(times.length * 0.5)]!),
    file_create_us_p90: round1(times[Math.floor(times.length * 0.9)]!),
    page_touch_us: round1(touchUs),
    ...(reported === undefined ? {} : { free_memory_reported: reported }),
  };
}

/** VIRTIO_BALLOON_F_REPORTING: the guest reports free pages, which the host then reclaims. */
const BALLOON_F_REPORTING = 5;

/**
 * Whether a virtio balloon device of this machine reports free pages to its host, from its
 * features in sysfs (a string of 0 and 1, one per feature bit, bit 0 first); undefined without
 * sysfs. Pure apart from `readDevices`, the edge that lists each device's driver and features.
 */
export function freeMemoryReported(readDevices: () => Array<{ driver: string; features: string }> = sysfsVirtioDevices): boolean | undefined {
  let devices;
  try {
    devices = readDevices();
  } catch {
    return undefined;
  }
  return devices.some((d) => d.driver === 'virtio_balloon' && d.features[BALLOON_F_REPORTING] === '1');
}

const VIRTIO_DEVICES = '/sys/bus/virtio/devices';

/** Each virtio device's driver and features; throws where there is no such directory (no sysfs, not Linux). */
function sysfsVirtioDevices(): Array<{ driver: string; features: string }> {
  if (!readdirSync('/sys/bus').includes('virtio')) return [];
  return readdirSync(VIRTIO_DEVICES).map((name) => {
    const dir = path.join(VIRTIO_DEVICES, name);
    // A device without a driver bound has no `driver` link; one without features, no file.
    return { driver: orEmpty(() => path.basename(readlinkSync(path.join(dir, 'driver')))), features: orEmpty(() => readFileSync(path.join(dir, 'features'), 'utf8').trim()) };
  });
}

/** What `read` returns, or '' where it throws. */
function orEmpty(read: () => string): string {
  try {
    return read();
  } catch {
    return '';
  }
}

/**
 * A median create above this (µs) is a filesystem busy with something else: local creates take
 * 25–100 µs on the machines measured, and up to 1.3 ms in the minutes after a benchmark removed
 * gigabytes (docs/benchmarks.md).
 */
export const SLOW_CREATE_US = 200;

/** One line for a benchmark's log; it says so when creates are slow enough to skew the figures. */
export function formatMachineCosts(c: MachineCosts): string {
  const line = `this machine: a file create in ${c.dir} takes ${c.file_create_us_p50} µs (p90 ${c.file_create_us_p90} µs), a fresh page's first touch ${c.page_touch_us} µs (docs/benchmarks.md, "Reading figures from another machine")`;
  const withMemory = c.free_memory_reported
    ? `${line}; its hypervisor takes back memory the machine frees (free page reporting), so a run that writes into such memory pays about ten times as much per page, and figures swing from run to run`
    : line;
  return c.file_create_us_p50 > SLOW_CREATE_US ? `${withMemory}; creates are slow now: figures that create many files are not comparable with a run where they are not; wait a few minutes and run again` : withMemory;
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
