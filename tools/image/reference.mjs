#!/usr/bin/env node
// The image reference an app is published under, and the one the Helm chart pulls by default:
//   node tools/image/reference.mjs <app> [--registry REGISTRY/NAMESPACE]
// Without --registry: the chart's default, <values.yaml <component>.image.repository>:<subchart
// image.tag>. With it: REGISTRY/NAMESPACE/kuik-<app>:<version> (where publish.sh pushes when
// KUIK_IMAGE_REGISTRY is set). Both tags are the app's version, which is also the name of the
// multi-arch index in the app's OCI layout (tools/image/build.mjs).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** App → key of its section in charts/kuik/values.yaml (the controller keeps the original chart's name). */
export const CHART_SECTION = { controller: 'controllers', proxy: 'proxy', registry: 'registry' };

export function appVersion(app) {
  return JSON.parse(readFileSync(path.join(root, 'apps', app, 'package.json'), 'utf8')).version;
}

/** { repository, tag } the chart renders for the app when no image value is overridden. */
export function chartDefault(app) {
  const section = CHART_SECTION[app];
  if (!section) throw new Error(`unknown app ${app} (known: ${Object.keys(CHART_SECTION).join(', ')})`);
  const values = parse(readFileSync(path.join(root, 'charts/kuik/values.yaml'), 'utf8'));
  const sub = parse(readFileSync(path.join(root, 'charts/kuik/charts', section === 'controllers' ? 'controller' : section, 'values.yaml'), 'utf8'));
  return { repository: values[section]?.image?.repository, tag: String(values[section]?.image?.tag ?? sub?.image?.tag) };
}

export function reference(app, registry) {
  if (registry) return `${registry.replace(/\/+$/, '')}/kuik-${app}:${appVersion(app)}`;
  const { repository, tag } = chartDefault(app);
  return `${repository}:${tag}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const app = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--registry');
  const i = args.indexOf('--registry');
  if (!app) {
    console.error('usage: node tools/image/reference.mjs <app> [--registry REGISTRY/NAMESPACE]');
    process.exit(2);
  }
  console.log(reference(app, i >= 0 ? args[i + 1] : undefined));
}
