// Where paths live in the bucket: the shared mapping (../object-store/keys.ts), plus the parts of
// in-progress writes (writer.ts) under `${rootPrefix}~kuik/uploads/a/b/~part-00000001`, out of reach
// of paths and skipped by list/walk. The tree mirrors the paths so that deleting a directory can
// also drop the in-progress writes under it (uploadTreePrefix).
import { ObjectKeyLayout } from '../object-store/keys.js';

const PART = 'part-';
const PART_DIGITS = 8;

export class KeyLayout extends ObjectKeyLayout {
  /** Prefix of every object of the in-progress write at path (its parts and compose temporaries). */
  uploadPrefix(path: string): string {
    return this.internalKey(`uploads/${path.slice(1)}/~`);
  }

  /** Prefix of the in-progress writes at path and at every path under it. */
  uploadTreePrefix(path: string): string {
    return this.internalKey(path === '/' ? 'uploads/' : `uploads/${path.slice(1)}/`);
  }

  partPrefix(path: string): string {
    return this.uploadPrefix(path) + PART;
  }

  /** Part n (1-based) of the in-progress write at path; zero-padded so names sort in part order. */
  partKey(path: string, n: number): string {
    return this.partPrefix(path) + String(n).padStart(PART_DIGITS, '0');
  }

  /** The part number of a part object name under partPrefix(path), or null. */
  partNumber(path: string, name: string): number | null {
    const prefix = this.partPrefix(path);
    if (!name.startsWith(prefix)) return null;
    const digits = name.slice(prefix.length);
    return /^\d+$/.test(digits) ? Number(digits) : null;
  }

  /** An intermediate composite (commits of more than 32 parts compose in rounds). */
  composeKey(path: string, round: number, index: number): string {
    return `${this.uploadPrefix(path)}compose-${round}-${String(index).padStart(PART_DIGITS, '0')}`;
  }
}
