/**
 * `npm run bench:transfer-floor [-- --files N] [--rounds N] [--out FILE]`
 *
 * What moving files between two Node processes costs on this machine at the least, to set
 * `bench:rsync`'s figures against (docs/benchmarks.md, "Where pulpdist still loses"):
 *   - an upstream that reads each file into one reused 1 MiB buffer and writes it to a loopback
 *     socket, with synchronous reads and with reads on libuv's thread pool (what the content app
 *     does, so that a cold disk never stalls its event loop);
 *   - a downstream that receives the bytes, sha256s them and writes each file into a file of its
 *     own (open, writes, close), as a sync must at the least.
 * No HTTP, no framing, no durability, no records: a measure of the machine and of Node, not of
 * pulpdist. Each side runs in its own process and reports its own CPU time; the tree (log-skewed
 * sizes from 10 KiB to 2 MiB, like bench:rsync's packages) is generated in $TMPDIR and removed.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError, messageOf } from '../core/errors.js';
import { benchArgs, intOption } from './options.js';

const SELF = fileURLToPath(import.meta.url);
const MiB = 1024 * 1024;

const USAGE = `usage: node dist/bench/transfer-floor.js [--files N] [--rounds N] [--out FILE]

  --files N    files in the tree (default 500: about 180 MiB)
  --rounds N   rounds of each read mode, alternated (default 3)
  --out FILE   also write the figures as JSON`;

interface SideResult {
  cpuMs: number;
  bytes: number;
  files: number;
}

function cpuMsSince(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1000;
}

/** The upstream: serve `files` back to back to the first connection, then report and exit. */
function serve(files: string[], reads: 'sync' | 'pool'): void {
  const buf = Buffer.allocUnsafeSlow(MiB);
  const server = net.createServer((sock) => {
    void (async () => {
      const start = process.cpuUsage();
      let fill = 0;
      let bytes = 0;
      // The buffer is filled again only once the socket took it, as the content app does.
      const flush = () => new Promise<void>((resolve) => void sock.write(buf.subarray(0, fill), () => resolve()));
      for (const f of files) {
        const fd = fs.openSync(f, 'r');
        const size = fs.fstatSync(fd).size;
        for (let done = 0; done < size; ) {
          if (fill === buf.length) {
            await flush();
            fill = 0;
          }
          const want = Math.min(buf.length - fill, size - done);
          const n =
            reads === 'sync'
              ? fs.readSync(fd, buf, fill, want, done)
              : await new Promise<number>((resolve, reject) => fs.read(fd, buf, fill, want, done, (err, got) => (err ? reject(err) : resolve(got))));
          if (n === 0) throw new Error(`${f} is shorter than its size`);
          fill += n;
          done += n;
        }
        fs.closeSync(fd);
        bytes += size;
      }
      await flush();
      sock.end();
      const result: SideResult = { cpuMs: cpuMsSince(start), bytes, files: files.length };
      process.stdout.write(JSON.stringify(result) + '\n');
      server.close();
    })();
  });
  server.listen(0, '127.0.0.1', () => process.stdout.write(JSON.stringify({ port: (server.address() as net.AddressInfo).port }) + '\n'));
}

/** The downstream: receive files of `sizes`, sha256 each and write it to a file of its own under `dir`. */
function receive(port: number, sizes: number[], dir: string): void {
  const start = process.cpuUsage();
  let i = 0;
  let left = sizes[0] ?? 0;
  let bytes = 0;
  let fd = fs.openSync(path.join(dir, 'f0'), 'w');
  let hash = createHash('sha256');
  const sock = net.connect(port, '127.0.0.1');
  sock.on('data', (d: Buffer) => {
    for (let at = 0; at < d.length; ) {
      const n = Math.min(left, d.length - at);
      const piece = d.subarray(at, at + n);
      hash.update(piece);
      fs.writeSync(fd, piece);
      at += n;
      left -= n;
      bytes += n;
      if (left > 0) continue;
      hash.digest();
      fs.closeSync(fd);
      if (++i < sizes.length) {
        left = sizes[i]!;
        fd = fs.openSync(path.join(dir, `f${i}`), 'w');
        hash = createHash('sha256');
      }
    }
  });
  sock.on('end', () => {
    const result: SideResult = { cpuMs: cpuMsSince(start), bytes, files: i };
    process.stdout.write(JSON.stringify(result) + '\n');
  });
}

/** Run this file as a side; resolves with its last JSON line (and calls `onFirst` with its first). */
function side(args: string[], onFirst?: (line: Record<string, number>) => void): Promise<SideResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SELF, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    let first = true;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (first && out.includes('\n')) {
        first = false;
        onFirst?.(JSON.parse(out.split('\n')[0]!) as Record<string, number>);
      }
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`${args[0]} exited with ${code}`));
      resolve(JSON.parse(out.trim().split('\n').at(-1)!) as SideResult);
    });
  });
}

/** A tree of `count` files with bench:rsync's package sizes (seeded: the same tree every run). */
function makeTree(dir: string, count: number): { files: string[]; sizes: number[] } {
  const pool = randomBytes(2 * MiB);
  let seed = 1;
  const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  const files: string[] = [];
  const sizes: number[] = [];
  for (let i = 0; i < count; i++) {
    const size = Math.round(Math.exp(Math.log(10 * 1024) + rnd() * (Math.log(2 * MiB) - Math.log(10 * 1024))));
    const f = path.join(dir, `f${i}`);
    fs.writeFileSync(f, pool.subarray(0, size));
    files.push(f);
    sizes.push(size);
  }
  return { files, sizes };
}

async function main(): Promise<void> {
  const [role, ...rest] = process.argv.slice(2);
  if (role === 'serve') return serve(JSON.parse(fs.readFileSync(rest[0]!, 'utf8')) as string[], rest[1] === 'sync' ? 'sync' : 'pool');
  if (role === 'receive') return receive(Number(rest[0]), JSON.parse(fs.readFileSync(rest[1]!, 'utf8')) as number[], rest[2]!);
  const values = benchArgs({ files: { type: 'string' }, rounds: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean' } }, USAGE);
  const count = intOption('files', values.files, 500);
  const rounds = intOption('rounds', values.rounds, 3);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pulpdist-transfer-floor-'));
  try {
    fs.mkdirSync(path.join(tmp, 'tree'));
    const { files, sizes } = makeTree(path.join(tmp, 'tree'), count);
    fs.writeFileSync(path.join(tmp, 'files.json'), JSON.stringify(files));
    fs.writeFileSync(path.join(tmp, 'sizes.json'), JSON.stringify(sizes));
    const runs: { reads: string; upstreamMsPerMiB: number; downstreamMsPerMiB: number; mib: number }[] = [];
    for (let r = 0; r < rounds; r++) {
      for (const reads of ['sync', 'pool'] as const) {
        const dest = path.join(tmp, `dest-${r}-${reads}`);
        fs.mkdirSync(dest);
        let downstream: Promise<SideResult> | null = null;
        const upstream = await side(['serve', path.join(tmp, 'files.json'), reads], ({ port }) => {
          downstream = side(['receive', String(port), path.join(tmp, 'sizes.json'), dest]);
        });
        const down = await downstream!;
        if (down.bytes !== upstream.bytes || down.files !== count) throw new Error(`the downstream got ${down.files} files, ${down.bytes} bytes`);
        const mib = upstream.bytes / MiB;
        runs.push({ reads, mib, upstreamMsPerMiB: upstream.cpuMs / mib, downstreamMsPerMiB: down.cpuMs / mib });
        fs.rmSync(dest, { recursive: true, force: true });
        console.log(`round ${r + 1}, ${reads === 'sync' ? 'synchronous reads' : 'thread-pool reads'}: ${mib.toFixed(0)} MiB; upstream ${upstream.cpuMs.toFixed(0)} ms CPU (${(upstream.cpuMs / mib).toFixed(2)} ms/MiB); downstream (sha256 + a file each) ${down.cpuMs.toFixed(0)} ms CPU (${(down.cpuMs / mib).toFixed(2)} ms/MiB)`);
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    for (const reads of ['sync', 'pool']) {
      const mine = runs.filter((x) => x.reads === reads);
      console.log(`median, ${reads === 'sync' ? 'synchronous reads' : 'thread-pool reads'}: upstream ${median(mine.map((x) => x.upstreamMsPerMiB)).toFixed(2)} ms/MiB, downstream ${median(mine.map((x) => x.downstreamMsPerMiB)).toFixed(2)} ms/MiB`);
    }
    if (values.out) fs.writeFileSync(values.out, JSON.stringify({ files: count, runs }, null, 2) + '\n');
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(`bench:transfer-floor: ${messageOf(err)}`);
  if (err instanceof UsageError) console.error(USAGE);
  process.exit(err instanceof UsageError ? 2 : 1);
});
