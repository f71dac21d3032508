// Runs the built controller bundle (dist/apps/controller/main.js) as child processes, the way
// the Deployment runs it: one YAML config each, JSON logs captured for assertions and failures.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '@kuik/testing';
import { waitFor } from './harness.js';

const built = new Set<string>();

/** Bundles an app (controller, registry) from the current sources, once per test file; its main.js. */
export function buildApp(app: 'controller' | 'registry'): string {
  const root = repoRoot();
  if (!built.has(app)) {
    const r = spawnSync(process.execPath, ['tools/build/bundle-app.mjs', app], { cwd: root, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`building the ${app} failed:\n${r.stdout}\n${r.stderr}`);
    built.add(app);
  }
  return path.join(root, `dist/apps/${app}/main.js`);
}

/** Bundles the controller from the current sources (once per test file). */
export const buildController = (): string => buildApp('controller');

export interface ControllerProcess {
  name: string;
  child: ChildProcess;
  opsUrl: string;
  logs: string[];
  exited: Promise<number | null>;
}

export function startController(name: string, config: Record<string, unknown>, opsPort: number): ControllerProcess {
  const main = buildController();
  const dir = path.join(repoRoot(), 'tmp', 'controller-tests');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(config, null, 2)); // JSON is YAML
  const child = spawn(process.execPath, [main, '--config', file], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, POD_NAME: name } });
  const logs: string[] = [];
  for (const s of [child.stdout, child.stderr]) s?.on('data', (d: Buffer) => logs.push(...d.toString().split('\n').filter(Boolean)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { name, child, opsUrl: `http://127.0.0.1:${opsPort}`, logs, exited };
}

export async function metric(p: ControllerProcess, name: string): Promise<number | undefined> {
  const res = await fetch(`${p.opsUrl}/metrics`, { signal: AbortSignal.timeout(2000) });
  const text = await res.text();
  const line = text.split('\n').find((l) => l.startsWith(name + ' ') || l.startsWith(name + '{'));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : undefined;
}

export async function waitReady(p: ControllerProcess, timeoutMs = 30_000): Promise<void> {
  await waitFor(`${p.name} /readyz`, timeoutMs, async () => {
    if (p.child.exitCode !== null) throw new Error(`${p.name} exited: ${p.logs.slice(-20).join('\n')}`);
    const r = await fetch(`${p.opsUrl}/readyz`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
    return r?.status === 200;
  }, 200);
}

export async function stopController(p: ControllerProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill(signal);
  return p.exited;
}
