/**
 * deploy/kubernetes/: every object is valid against the Kubernetes schemas (kubernetes-models,
 * which validates with the OpenAPI schemas of the API server), the security settings the README
 * promises are there, and the container's arguments are ones `pulpdist run` accepts. Each check is
 * also run on a broken copy, to show it can fail.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseAllDocuments } from 'yaml';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { command as runCommand } from '../../cli/commands/run.js';
import { durationOption } from '../../cli/options.js';
import { PACKAGE_ROOT } from '../../core/paths.js';

const DIR = path.join(PACKAGE_ROOT, 'deploy', 'kubernetes');

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;
interface Loaded {
  file: string;
  obj: Obj;
}

/** The model class of each kind the manifests may hold: anything else is an error. */
const MODELS: Record<string, (o: Obj) => { validate(): void }> = {
  'apps/v1/Deployment': (o) => new Deployment(o as never),
  'v1/Service': (o) => new Service(o as never),
  'v1/ServiceAccount': (o) => new ServiceAccount(o as never),
};

function loadAll(): Loaded[] {
  const out: Loaded[] = [];
  for (const name of readdirSync(DIR).sort()) {
    if (!name.endsWith('.yaml') || name === 'kustomization.yaml') continue;
    for (const doc of parseAllDocuments(readFileSync(path.join(DIR, name), 'utf8'))) {
      if (doc.errors.length) throw new Error(`${name}: ${doc.errors[0]!.message}`);
      const obj = doc.toJS() as Obj | null;
      if (obj) out.push({ file: name, obj });
    }
  }
  return out;
}

/** Validates one object; the schema error (with its JSON path) or null. */
function schemaError(o: Obj): string | null {
  const make = MODELS[`${o.apiVersion}/${o.kind}`];
  if (!make) return `no model for ${o.apiVersion} ${o.kind}`;
  try {
    make(o).validate();
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

const objects = loadAll();
const byKind = (kind: string): Obj => {
  const found = objects.filter((l) => l.obj.kind === kind);
  assert.is(found.length, 1, `exactly one ${kind}`);
  return found[0]!.obj;
};
const clone = (o: Obj): Obj => structuredClone(o);

test('every object is valid against the Kubernetes schemas, and a broken one is not', () => {
  assert.ok(objects.length >= 3, 'the manifests hold objects');
  for (const { file, obj } of objects) assert.is(schemaError(obj), null, `${file}: ${obj.kind}`);
  const d = clone(byKind('Deployment'));
  d.spec.replicas = 'two';
  assert.match(String(schemaError(d)), /replicas must be integer/);
  const p = clone(byKind('Deployment'));
  p.spec.template.spec.containers[0].livenessProbe.httpGet = { path: '/livez' };
  assert.match(String(schemaError(p)), /must have required property .?port/);
});

test('kustomization.yaml lists every manifest file', () => {
  const k = parseAllDocuments(readFileSync(path.join(DIR, 'kustomization.yaml'), 'utf8'))[0]!.toJS() as Obj;
  assert.is(k.kind, 'Kustomization');
  const files = [...new Set(objects.map((l) => l.file))].sort();
  assert.equal([...(k.resources as string[])].sort(), files);
});

const pod = () => byKind('Deployment').spec.template.spec as Obj;
const container = () => pod().containers[0] as Obj;

test('two replicas, recreated rather than rolled (the standby is never Ready)', () => {
  const d = byKind('Deployment');
  assert.is(d.spec.replicas, 2);
  assert.is(d.spec.strategy.type, 'Recreate');
  assert.is(pod().containers.length, 1);
});

test('non-root, read-only root filesystem, no privilege escalation, no capabilities, seccomp RuntimeDefault', () => {
  const ps = pod().securityContext as Obj;
  assert.is(ps.runAsNonRoot, true);
  assert.ok(Number.isInteger(ps.runAsUser) && ps.runAsUser > 0, 'a numeric non-root uid');
  assert.is(ps.seccompProfile.type, 'RuntimeDefault');
  const cs = container().securityContext as Obj;
  assert.is(cs.allowPrivilegeEscalation, false);
  assert.is(cs.readOnlyRootFilesystem, true);
  assert.is(cs.privileged ?? false, false);
  assert.equal(cs.capabilities.drop, ['ALL']);
  assert.is(cs.capabilities.add, undefined);
  for (const c of pod().containers as Obj[]) assert.is.not(c.securityContext?.runAsUser, 0, `${c.name} does not override the uid with root`);
});

test('no service account token, no host namespaces', () => {
  assert.is(byKind('ServiceAccount').automountServiceAccountToken, false);
  const p = pod();
  assert.is(p.automountServiceAccountToken, false);
  assert.is(p.serviceAccountName, byKind('ServiceAccount').metadata.name);
  for (const k of ['hostNetwork', 'hostPID', 'hostIPC']) assert.is(p[k] ?? false, false, k);
});

test('resource requests and limits for CPU and memory', () => {
  const r = container().resources as Obj;
  for (const kind of ['requests', 'limits']) for (const res of ['cpu', 'memory']) assert.ok(r[kind]?.[res], `${kind}.${res}`);
});

test('liveness on /livez (never /readyz: a standby answers 503 by design), readiness on /readyz', () => {
  const c = container();
  const portNames = (c.ports as Obj[]).map((p) => p.name);
  assert.is(c.livenessProbe.httpGet.path, '/livez');
  assert.is(c.readinessProbe.httpGet.path, '/readyz');
  if (c.startupProbe) assert.is.not(c.startupProbe.httpGet.path, '/readyz');
  for (const probe of [c.livenessProbe, c.readinessProbe, c.startupProbe].filter(Boolean)) assert.ok(portNames.includes(probe.httpGet.port), `probe port ${probe.httpGet.port} is a container port`);
});

test('secrets come from a Secret through the environment, never from the manifests', () => {
  assert.not.ok(objects.some((l) => l.obj.kind === 'Secret'), 'no Secret object with values in Git');
  const c = container();
  assert.ok((c.envFrom as Obj[]).some((e) => e.secretRef?.name), 'the environment from a Secret');
  for (const e of (c.env ?? []) as Obj[]) {
    if (/PASSWORD|TOKEN|SECRET|KEY/i.test(e.name)) assert.ok(e.valueFrom?.secretKeyRef, `${e.name} from a Secret`);
  }
  const text = readdirSync(DIR).map((f) => readFileSync(path.join(DIR, f), 'utf8')).join('\n');
  assert.not.match(text, /^\s*(stringData|data):/m);
});

/** The container's arguments with `$(VAR)` expanded from its env, as the kubelet does. */
function expandedArgs(): string[] {
  const c = container();
  const env = new Map<string, string>(((c.env ?? []) as Obj[]).filter((e) => typeof e.value === 'string').map((e) => [e.name, e.value]));
  return (c.args as string[]).map((a) => a.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name: string) => env.get(name) ?? m));
}

test('the arguments are a `pulpdist run` its option parser accepts, with a lease, on 0.0.0.0:8080', () => {
  const args = expandedArgs();
  assert.is(args[0], 'run');
  const { values } = parseArgs({ args: args.slice(1), options: runCommand.options, strict: true, allowPositionals: false });
  assert.match(String(values.repo), /^https:\/\//);
  assert.is(values.listen, '0.0.0.0:8080');
  const leaseMs = durationOption('lease', values.lease)!;
  assert.ok(leaseMs >= 3_000, `--lease ${String(values.lease)}`);
  assert.is(values['log-format'], 'json');
  // And the parser does reject an option run does not have.
  assert.throws(() => parseArgs({ args: [...args.slice(1), '--leese', '30s'], options: runCommand.options, strict: true }), /leese/);
  // The port it listens on is the container port the probes and the Service use.
  const port = Number(String(values.listen).split(':').pop());
  const http = (container().ports as Obj[]).find((p) => p.name === 'http')!;
  assert.is(http.containerPort, port);
});

test('--state-dir and /tmp are writable emptyDir volumes (the root filesystem is not)', () => {
  const { values } = parseArgs({ args: expandedArgs().slice(1), options: runCommand.options, strict: true });
  const mounts = container().volumeMounts as Obj[];
  const volumes = new Map((pod().volumes as Obj[]).map((v) => [v.name, v]));
  for (const dir of [String(values['state-dir']), '/tmp']) {
    const m = mounts.find((x) => x.mountPath === dir);
    assert.ok(m, `${dir} is mounted`);
    assert.ok(volumes.get(m.name)?.emptyDir, `${dir} is an emptyDir`);
    assert.is.not(m.readOnly, true);
  }
});

test('the Service selects the pods and targets the port pulpdist listens on', () => {
  const s = byKind('Service');
  const labels = byKind('Deployment').spec.template.metadata.labels as Obj;
  for (const [k, v] of Object.entries(s.spec.selector as Obj)) assert.is(labels[k], v, `selector ${k}`);
  assert.equal(byKind('Deployment').spec.selector.matchLabels, s.spec.selector);
  const targets = (s.spec.ports as Obj[]).map((p) => p.targetPort);
  assert.ok(targets.every((t) => (container().ports as Obj[]).some((p) => p.name === t || p.containerPort === t)), `targets ${targets.join(',')}`);
  assert.is(s.spec.publishNotReadyAddresses ?? false, false, 'only the Ready (active) replica gets traffic');
});

test.run();
