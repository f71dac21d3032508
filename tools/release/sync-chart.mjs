#!/usr/bin/env node
// Keeps the Helm charts in step with the apps (run after `nx release version`; tools/release/release.mjs does):
//   charts/kuik/charts/<component>/Chart.yaml  version = appVersion = the app's package.json version
//   charts/kuik/charts/<component>/values.yaml image.tag = the app's version
//   charts/kuik/Chart.yaml                     version = charts/kuik/package.json, dependency versions
//   charts/kuik/crds/                          = apps/controller/crds/ (generated from the typed CRD source)
// With --check it changes nothing and exits 1 when something is out of step (the chart tests use it).
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const check = process.argv.includes('--check');
const chart = path.join(root, 'charts/kuik');
const components = { controller: 'controller', proxy: 'proxy', registry: 'registry' };
const version = (p) => JSON.parse(readFileSync(path.join(root, p, 'package.json'), 'utf8')).version;
const drift = [];

function update(file, edits) {
  const text = readFileSync(file, 'utf8');
  const doc = parseDocument(text);
  for (const [key, value] of edits) {
    const keyPath = Array.isArray(key) ? key : [key];
    if (doc.getIn(keyPath) !== value) doc.setIn(keyPath, value);
  }
  const out = doc.toString({ lineWidth: 0, flowCollectionPadding: false });
  if (out !== text) {
    drift.push(path.relative(root, file));
    if (!check) writeFileSync(file, out);
  }
}

const chartVersion = version('charts/kuik');
const deps = parseDocument(readFileSync(path.join(chart, 'Chart.yaml'), 'utf8')).toJS().dependencies;
const edits = [['version', chartVersion], ['appVersion', chartVersion]];
for (const [component, app] of Object.entries(components)) {
  const v = version(`apps/${app}`);
  update(path.join(chart, 'charts', component, 'Chart.yaml'), [['version', v], ['appVersion', v]]);
  update(path.join(chart, 'charts', component, 'values.yaml'), [[['image', 'tag'], v]]);
  const i = deps.findIndex((d) => d.name === component);
  edits.push([['dependencies', i, 'version'], v]);
}
update(path.join(chart, 'Chart.yaml'), edits);

const crdSrc = path.join(root, 'apps/controller/crds');
if (existsSync(crdSrc)) {
  const crdDst = path.join(chart, 'crds');
  mkdirSync(crdDst, { recursive: true });
  for (const f of readdirSync(crdSrc).filter((f) => f.endsWith('.yaml'))) {
    const want = readFileSync(path.join(crdSrc, f), 'utf8');
    const dst = path.join(crdDst, f);
    if (!existsSync(dst) || readFileSync(dst, 'utf8') !== want) {
      drift.push(path.relative(root, dst));
      if (!check) writeFileSync(dst, want);
    }
  }
}

if (drift.length === 0) console.log('charts are in step with the apps');
else if (check) {
  console.error(`out of step with the apps (run node tools/release/sync-chart.mjs): ${drift.join(', ')}`);
  process.exit(1);
} else console.log(`updated: ${drift.join(', ')}`);
