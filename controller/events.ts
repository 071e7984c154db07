/**
 * The controller's events (docs/events.md): what the loop sees, turned into CloudEvents on the
 * EventSinks of the commit in force. Syncs come from the running pass's events as they happen;
 * the rest (a site's health, a tree reaching every site, a failed pass, a rejected commit, a change
 * held by a safety rule) from each document the loop publishes, through the transition helpers of
 * events/, so a level-triggered loop announces each change once. Emitting never waits and never
 * throws: a dead receiver cannot slow or break a pass.
 */
import type { Logger } from '../core/logger.js';
import type { StatusDocument } from '../core/status.js';
import {
  changeBlocked, createEventBus, passFailed, PropagationTracker, siteHealthChange, specRejected, syncFailed, syncStarted, syncSucceeded,
  type EventBus, type EventBusOptions, type EventInput, type SinkStats, type SiteHealth,
} from '../events/index.js';
import { syncKey } from '../reconcilers/names.js';
import type { PassEvent } from '../reconcilers/pass-types.js';
import type { EventSinkSpec } from '../spec/event-sink.js';
import type { Problem } from '../spec/types.js';

/** What the loop tells its events (LoopDeps.events). */
export interface LoopEvents {
  /** An event of the running pass; `specs` are those the pass runs on (their sinks get it). */
  onPassEvent(e: PassEvent, specs: { eventSinks?: readonly EventSinkSpec[] } | null): void;
  /** After every cycle: the document published, the sinks and problems of the specs. */
  afterCycle(doc: StatusDocument, specs: { eventSinks?: readonly EventSinkSpec[] } | null, problems: readonly Problem[]): void;
  /** Deliver what is queued until the deadline, then stop. */
  close(deadline?: Date): Promise<void>;
}

export interface ControllerEventsOptions extends Omit<EventBusOptions, 'log'> {
  log: Logger;
  now: () => Date;
  /** How the bus is made (tests of the wiring may count what it gets). @default createEventBus */
  makeBus?: (sinks: readonly EventSinkSpec[], options: EventBusOptions) => EventBus;
}

interface RunningSync {
  startedAt: number;
  treeDigest?: string;
  task?: string;
  bytes: number;
  files: number;
}

const NO_SINKS: readonly EventSinkSpec[] = [];

export class ControllerEvents implements LoopEvents {
  #bus: EventBus | null = null;
  #sinksKey = '[]';
  readonly #syncs = new Map<string, RunningSync>();
  readonly #health = new Map<string, SiteHealth>();
  readonly #propagation = new PropagationTracker();
  /** Mirrors the propagation tracker has seen. */
  readonly #mirrors = new Set<string>();
  #sinks: readonly EventSinkSpec[] = NO_SINKS;
  #passFailedAt: string | null = null;
  #rejected: string | null = null;
  #blocked = new Set<string>();

  constructor(private readonly o: ControllerEventsOptions) {}

  /** Counters of every sink (empty without sinks), for /metrics. */
  stats(): SinkStats[] {
    return this.#bus?.stats() ?? [];
  }

  #emit(input: EventInput | undefined): void {
    if (input) this.#bus?.emit(input);
  }

  onPassEvent(e: PassEvent, specs: { eventSinks?: readonly EventSinkSpec[] } | null): void {
    this.#configure(specs?.eventSinks ?? NO_SINKS);
    if (e.type === 'action-start' || e.type === 'action-end' ? e.action !== 'sync' : false) return;
    const k = syncKey(e.mirror, e.site);
    const now = this.o.now().getTime();
    if (e.type === 'action-start') {
      this.#syncs.set(k, { startedAt: now, ...(e.treeDigest ? { treeDigest: e.treeDigest } : {}), bytes: 0, files: 0 });
      this.#emit(syncStarted({ mirror: e.mirror, site: e.site, ...(e.reason ? { reason: e.reason } : {}) }));
      return;
    }
    const s = this.#syncs.get(k);
    if (e.type === 'sync-progress') {
      if (s) Object.assign(s, { task: e.task, bytes: e.doneBytes, files: e.doneFiles });
      return;
    }
    this.#syncs.delete(k);
    const durationMs = s ? now - s.startedAt : e.durationMs;
    const task = s?.task ? { task: s.task } : {};
    if (e.result === 'succeeded') {
      this.#emit(syncSucceeded({ mirror: e.mirror, site: e.site, treeDigest: s?.treeDigest ?? '', bytes: s?.bytes ?? 0, files: s?.files ?? 0, durationMs, ...task }));
    } else if (e.result === 'failed') {
      this.#emit(syncFailed({ mirror: e.mirror, site: e.site, reason: e.message ?? 'failed', durationMs, ...task }));
    }
  }

  afterCycle(doc: StatusDocument, specs: { eventSinks?: readonly EventSinkSpec[] } | null, problems: readonly Problem[]): void {
    this.#configure(specs?.eventSinks ?? NO_SINKS);
    const now = this.o.now();
    const startedAt = doc.controller.startedAt;
    for (const site of doc.sites) {
      const health: SiteHealth = site.state ?? (site.reachable ? 'reachable' : 'unreachable');
      this.#emit(siteHealthChange(site.name, this.#health.get(site.name), health, health === 'reachable' ? (site.pulpVersion ? { pulpVersion: site.pulpVersion } : {}) : { reason: site.message }));
      this.#health.set(site.name, health);
    }
    for (const m of doc.mirrors) {
      // A tree already everywhere when a mirror is first seen was announced by an earlier run,
      // unless this run synced it: then its propagation is news.
      if (!this.#mirrors.has(m.name)) {
        this.#mirrors.add(m.name);
        if (m.sites.some((c) => (c.lastSync?.finishedAt ?? '') >= startedAt)) this.#propagation.observe(m.name, [], now);
      }
      const sites = m.sites.map((c) => ({ site: c.site, ...(c.treeDigest ? { treeDigest: c.treeDigest } : {}), ...(c.lastSync?.finishedAt ? { publishedAt: new Date(c.lastSync.finishedAt) } : {}) }));
      this.#emit(this.#propagation.observe(m.name, sites, now));
    }
    const names = new Set(doc.mirrors.map((m) => m.name));
    this.#propagation.retain(names);
    for (const name of this.#mirrors) if (!names.has(name)) this.#mirrors.delete(name);
    const c = doc.controller;
    const pass = c.lastPass;
    if (pass?.result === 'failed' && pass.finishedAt && pass.finishedAt !== this.#passFailedAt) {
      this.#passFailedAt = pass.finishedAt;
      this.#emit(passFailed({ reason: pass.message ?? 'the pass failed', ...(c.observedCommit ? { commit: c.observedCommit } : {}) }));
    }
    if (c.specCommit && c.specErrors.length && c.specCommit !== this.#rejected) {
      this.#rejected = c.specCommit;
      this.#emit(specRejected({
        commit: c.specCommit,
        problems: problems.map((p) => ({ file: p.file, line: p.line, column: p.column, severity: p.severity, rule: p.rule, message: p.message })),
        ...(c.observedCommit ? { appliedCommit: c.observedCommit } : {}),
      }));
    }
    // A held change is announced when it starts being held (and again if it is held anew later).
    const blocked = new Set<string>();
    for (const m of doc.mirrors) {
      for (const cell of m.sites) {
        if (cell.state !== 'Blocked') continue;
        const k = syncKey(m.name, cell.site);
        blocked.add(k);
        // A halted rollout's stage says so in its reason (reconcilers/rollout-pass.ts withRollouts).
        const rule = m.rollout?.state === 'Blocked' && cell.message === m.rollout.reason ? 'rollout' : 'safety';
        if (!this.#blocked.has(k)) this.#emit(changeBlocked({ site: cell.site, mirror: m.name, rule, reason: cell.message, ...(c.observedCommit ? { commit: c.observedCommit } : {}) }));
      }
    }
    this.#blocked = blocked;
  }

  /** A bus for the sinks of the commit in force; a change of sinks closes the old one (briefly). */
  #configure(sinks: readonly EventSinkSpec[]): void {
    // Called on every pass event: the same specs are the same array.
    if (sinks === this.#sinks) return;
    this.#sinks = sinks;
    const key = JSON.stringify(sinks.map((s) => ({ ...s, position: undefined })));
    if (key === this.#sinksKey) return;
    this.#sinksKey = key;
    const old = this.#bus;
    const make = this.o.makeBus ?? createEventBus;
    this.#bus = sinks.length ? make(sinks, this.o) : null;
    if (old) void old.close({ deadline: new Date(Date.now() + 5_000) });
    this.o.log.info('event sinks', { sinks: sinks.map((s) => s.name).join(',') || 'none' });
  }

  async close(deadline?: Date): Promise<void> {
    const bus = this.#bus;
    this.#bus = null;
    if (bus) await bus.close(deadline ? { deadline } : {});
  }
}
