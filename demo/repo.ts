/**
 * The demo's spec repository: the bundled `mirrors/` copied into a fresh Git repository, with
 * each Site's URL pointed at a local embedded site and each Mirror's source at a generated tree.
 * Comments and layout survive (the yaml package edits the documents in place), so what a person
 * opens in the demo looks like the example they will copy.
 */
import { readdir, readFile, mkdir, writeFile, copyFile } from 'node:fs/promises';
import fs from 'node:fs';
import path from 'node:path';
import git from 'isomorphic-git';
import YAML from 'yaml';

export interface DemoSiteInfo {
  name: string;
  /** Username and the env var holding the password, if the spec asks for auth. */
  auth?: { username: string; passwordEnv: string };
}

export interface DemoMirrorInfo {
  name: string;
}

/** What the example specs declare, read before anything is started. */
export async function readExampleSpecs(specDir: string): Promise<{ sites: DemoSiteInfo[]; mirrors: DemoMirrorInfo[] }> {
  const sites: DemoSiteInfo[] = [];
  const mirrors: DemoMirrorInfo[] = [];
  for (const file of await yamlFiles(specDir)) {
    for (const doc of YAML.parseAllDocuments(await readFile(path.join(specDir, file), 'utf8'))) {
      const kind = doc.get('kind');
      const name = doc.getIn(['metadata', 'name']);
      if (typeof name !== 'string') continue;
      if (kind === 'Site') {
        const username = doc.getIn(['spec', 'pulp', 'auth', 'username']);
        const passwordEnv = doc.getIn(['spec', 'pulp', 'auth', 'passwordEnv']);
        sites.push({ name, ...(typeof username === 'string' && typeof passwordEnv === 'string' ? { auth: { username, passwordEnv } } : {}) });
      } else if (kind === 'Mirror') mirrors.push({ name });
    }
  }
  return { sites, mirrors };
}

export interface BuildDemoRepoOptions {
  /** The bundled example (`mirrors/`). */
  specDir: string;
  /** The schemas, copied alongside so editors resolve `$schema` comments. */
  schemaDir: string;
  /** The new repository's work tree. */
  repoDir: string;
  /** Site name → local API origin. */
  siteUrls: ReadonlyMap<string, string>;
  /** Mirror name → generated source tree. */
  treePaths: ReadonlyMap<string, string>;
}

/** Create the repository (branch main, one commit); returns the commit oid. */
export async function buildDemoRepo(o: BuildDemoRepoOptions): Promise<string> {
  const dir = o.repoDir;
  await mkdir(dir, { recursive: true });
  await git.init({ fs, dir, defaultBranch: 'main' });
  const written: string[] = [];
  for (const file of await yamlFiles(o.specDir)) {
    const docs = YAML.parseAllDocuments(await readFile(path.join(o.specDir, file), 'utf8'));
    for (const doc of docs) rewrite(doc, o);
    const target = path.join('mirrors', file);
    await mkdir(path.join(dir, path.dirname(target)), { recursive: true });
    await writeFile(path.join(dir, target), docs.map((d) => d.toString({ lineWidth: 0, flowCollectionPadding: false })).join(''));
    written.push(target);
  }
  if (fs.existsSync(o.schemaDir)) {
    await mkdir(path.join(dir, 'schemas'), { recursive: true });
    for (const f of await readdir(o.schemaDir)) {
      if (!f.endsWith('.json')) continue;
      await copyFile(path.join(o.schemaDir, f), path.join(dir, 'schemas', f));
      written.push(path.join('schemas', f));
    }
  }
  await writeFile(path.join(dir, 'README.md'), README);
  written.push('README.md');
  for (const f of written) await git.add({ fs, dir, filepath: f.split(path.sep).join('/') });
  const who = { name: 'pulpdist demo', email: 'demo@localhost' };
  return git.commit({ fs, dir, message: 'Example specs from pulpdist, pointed at the local demo sites\n', author: who, committer: who });
}

function rewrite(doc: YAML.Document.Parsed, o: BuildDemoRepoOptions): void {
  const kind = doc.get('kind');
  const name = doc.getIn(['metadata', 'name']);
  if (typeof name !== 'string') return;
  if (kind === 'Site') {
    const url = o.siteUrls.get(name);
    if (!url) return;
    doc.setIn(['spec', 'pulp', 'url'], url);
    if (doc.hasIn(['spec', 'pulp', 'contentOrigin'])) doc.setIn(['spec', 'pulp', 'contentOrigin'], url);
    // The demo's sites speak plain http on loopback.
    if (doc.hasIn(['spec', 'pulp', 'tlsValidation'])) doc.deleteIn(['spec', 'pulp', 'tlsValidation']);
  } else if (kind === 'Mirror') {
    const tree = o.treePaths.get(name);
    if (!tree) return;
    doc.setIn(['spec', 'source'], doc.createNode({ path: tree }));
  }
}

async function yamlFiles(root: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(path.join(root, prefix), { withFileTypes: true })) {
    const rel = path.join(prefix, e.name);
    if (e.isDirectory() && !e.name.startsWith('.')) out.push(...(await yamlFiles(root, rel)));
    else if (e.isFile() && /\.ya?ml$/i.test(e.name)) out.push(rel);
  }
  return out.sort();
}

const README = `# pulpdist demo specs

This repository was made by \`pulpdist demo\` from the bundled example in \`mirrors/\`: every Site
points at a local embedded site and every Mirror's source at a generated tree. The controller
watches branch \`main\`; commit a change and it starts a pass within a second. Status commits go to
branch \`pulpdist/status\` (\`git log --stat pulpdist/status\`).
`;
