// Small helpers around the real helm and kubectl binaries (built by tools/test-servers/kube-tools.sh).
import { requireServer, requireTool } from '@kuik/testing';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, stringify } from 'yaml';

export const chartDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const scratch = mkdtempSync(path.join(tmpdir(), 'kuik-chart-'));

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  data?: Record<string, string>;
  webhooks?: any[]; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
}

export function run(bin: string, args: string[], input?: string): RunResult {
  const r = spawnSync(bin, args, { encoding: 'utf8', input, maxBuffer: 64 << 20, timeout: 120_000 });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export const helm = () => requireTool('HELM_BIN');
export const kubectl = () => requireTool('KUBECTL_BIN');
export const kubeconfig = () => requireServer('kube-apiserver')['KUBECONFIG']!;

/** Writes values (an object or a file in test/values) and returns helm's -f arguments. */
export function valuesArgs(values: object | string | (object | string)[]): string[] {
  const list = Array.isArray(values) ? values : [values];
  return list.flatMap((v) => {
    if (typeof v === 'string') return ['-f', path.join(chartDir, 'test/values', v)];
    const f = path.join(scratch, `values-${Math.random().toString(16).slice(2)}.yaml`);
    writeFileSync(f, stringify(v));
    return ['-f', f];
  });
}

/** helm template; throws with helm's message on failure. */
export function template(values: object | string | (object | string)[] = {}, namespace = 'kuik-system'): K8sObject[] {
  const r = run(helm(), ['template', 'kuik', chartDir, '--namespace', namespace, '--include-crds', ...valuesArgs(values)]);
  if (r.status !== 0) throw new Error(r.stderr.trim());
  return parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

/** The error helm prints for values that must be refused. */
export function templateError(values: object | string | (object | string)[]): string {
  const r = run(helm(), ['template', 'kuik', chartDir, ...valuesArgs(values)]);
  if (r.status === 0) throw new Error('helm template succeeded but was expected to fail');
  return r.stderr;
}

export function find(objs: K8sObject[], kind: string, nameSuffix: string): K8sObject {
  const o = objs.find((x) => x.kind === kind && x.metadata.name.endsWith(nameSuffix));
  if (!o) throw new Error(`no ${kind} named *${nameSuffix} among: ${objs.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')}`);
  return o;
}

export function scratchFile(name: string, content: string): string {
  const f = path.join(scratch, name);
  writeFileSync(f, content);
  return f;
}
