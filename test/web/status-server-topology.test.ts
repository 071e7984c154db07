/** The topology of the status page, pure: which site feeds which, depths, worst states, and the SVG. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { MirrorState, StatusDocument } from '../../core/status.js';
import { computeTopology, renderTopologySvg, siteOrder } from '../../web/topology.js';

function doc(sites: [string, string | null, boolean?][], mirrors: [string, string, [string, MirrorState][]][]): StatusDocument {
  return {
    controller: { version: '0', startedAt: '2026-01-01T00:00:00Z', observedCommit: null, specCommit: null, specErrors: [], lastPass: null },
    sites: sites.map(([name, upstream, reachable = true]) => ({ name, url: `http://${name}`, upstream, reachable, pulpVersion: null, lastSeen: null, message: '' })),
    mirrors: mirrors.map(([name, origin, cells]) => ({
      name,
      origin,
      treeDigest: null,
      sites: cells.map(([site, state]) => ({ site, state, version: null, treeDigest: null, files: null, bytes: null, lastSync: null, message: '' })),
    })),
  };
}

const edgesOf = (d: StatusDocument) => computeTopology(d).edges.map((e) => `${e.from}>${e.to}:${e.mirrors}:${e.state ?? '-'}`);

test('a site pulls from the nearest upstream carrying the mirror, else the origin', () => {
  const d = doc(
    [['origin', null], ['hub', 'origin'], ['leaf', 'hub']],
    [
      ['a', 'origin', [['origin', 'Synced'], ['hub', 'Synced'], ['leaf', 'Progressing']]],
      ['b', 'origin', [['origin', 'Synced'], ['leaf', 'Failed']]], // hub lacks b: leaf pulls from origin
      ['c', 'hub', [['hub', 'Synced'], ['leaf', 'Pending']]], // c originates at hub
    ],
  );
  assert.equal(edgesOf(d), ['hub>leaf:2:Progressing', 'origin>hub:1:Synced', 'origin>leaf:1:Failed']);
  const t = computeTopology(d);
  assert.equal(
    t.nodes.map((n) => [n.name, n.depth, n.state, n.mirrors]),
    [['origin', 0, 'Synced', 2], ['hub', 1, 'Synced', 2], ['leaf', 2, 'Failed', 3]],
  );
  assert.equal(siteOrder(t), ['origin', 'hub', 'leaf']);
  // The origin → leaf link skips a column: it is routed below the nodes (a lane under them).
  const svg = renderTopologySvg(t).text;
  const skip = /data-from="origin" data-to="leaf"[^]*?<path d="([^"]+)"/.exec(svg)?.[1] ?? '';
  assert.match(skip, / L/);
});

test('without upstream, every site pulls from each mirror\'s origin; an unused upstream link is drawn empty', () => {
  assert.equal(edgesOf(doc([['a', null], ['b', null], ['c', null]], [['m', 'a', [['a', 'Synced'], ['b', 'OutOfSync'], ['c', 'Synced']]], ['n', 'b', [['b', 'Synced'], ['a', 'Suspended']]]])), [
    'a>b:1:OutOfSync',
    'a>c:1:Synced',
    'b>a:1:Suspended',
  ]);
  assert.equal(edgesOf(doc([['a', null], ['b', 'a']], [])), ['a>b:0:-']);
});

test('an upstream cycle or an unknown site cannot hang the layout or hide a site', () => {
  const t = computeTopology(doc([['a', 'b'], ['b', 'a']], [['m', 'a', [['a', 'Synced'], ['b', 'Synced'], ['ghost', 'Pending']]]]));
  assert.equal(t.nodes.map((n) => n.name).sort(), ['a', 'b', 'ghost']);
  for (const n of t.nodes) assert.ok(n.depth < 3, `${n.name} depth ${n.depth}`);
  assert.is(t.nodes.find((n) => n.name === 'ghost')!.reachable, false);
});

test('names are escaped in the SVG', () => {
  const svg = renderTopologySvg(computeTopology(doc([['x"><script>', null]], []))).text;
  assert.not.match(svg, '<script>');
  assert.match(svg, 'x&#34;&gt;&lt;script&gt;');
});

test.run();
