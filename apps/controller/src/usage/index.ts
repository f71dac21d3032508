// The usage index: for every CachedImage name, the pods and workloads using it right now. Built
// from informer events (every replica keeps it warm, so a new leader starts with it complete);
// each change reports the CachedImage names whose usage changed so that exactly those are
// reconciled.
import type { ImageUse, PodUses, WorkloadUses } from './sources.js';

export interface ImageUsage {
  source: string;
  pods: Set<string>;
  /** "Kind/namespace/name" → kind. */
  workloads: Map<string, { kind: string; namespacedName: string }>;
}

export class UsageIndex {
  private readonly byImage = new Map<string, ImageUsage>();
  private readonly listeners: ((name: string) => void)[] = [];

  onChange(listener: (name: string) => void): void {
    this.listeners.push(listener);
  }

  get(name: string): ImageUsage | undefined {
    return this.byImage.get(name);
  }

  names(): IterableIterator<string> {
    return this.byImage.keys();
  }

  inUse(name: string): boolean {
    const u = this.byImage.get(name);
    return !!u && u.pods.size + u.workloads.size > 0;
  }

  podChanged(old: PodUses | undefined, cur: PodUses | undefined): void {
    const key = (cur ?? old)?.namespacedName;
    if (!key) return;
    this.apply(old?.images, cur?.images, (u, add) => (add ? u.pods.add(key) : u.pods.delete(key)));
  }

  workloadChanged(old: WorkloadUses | undefined, cur: WorkloadUses | undefined): void {
    const w = cur ?? old;
    if (!w) return;
    const key = `${w.kind}/${w.namespacedName}`;
    this.apply(old?.images, cur?.images, (u, add) => (add ? u.workloads.set(key, { kind: w.kind, namespacedName: w.namespacedName }) : u.workloads.delete(key)));
  }

  private apply(before: ImageUse[] | undefined, after: ImageUse[] | undefined, mark: (u: ImageUsage, add: boolean) => unknown): void {
    const was = new Map((before ?? []).map((i) => [i.name, i.source]));
    const now = new Map((after ?? []).map((i) => [i.name, i.source]));
    const changed = new Set<string>();
    for (const name of was.keys()) {
      if (now.has(name)) continue;
      const u = this.byImage.get(name);
      if (u) {
        mark(u, false);
        if (u.pods.size + u.workloads.size === 0) this.byImage.delete(name);
      }
      changed.add(name);
    }
    for (const [name, source] of now) {
      let u = this.byImage.get(name);
      if (!u) this.byImage.set(name, (u = { source, pods: new Set(), workloads: new Map() }));
      const size = u.pods.size + u.workloads.size;
      mark(u, true);
      if (u.pods.size + u.workloads.size !== size) changed.add(name);
    }
    for (const name of changed) for (const l of this.listeners) l(name);
  }
}
