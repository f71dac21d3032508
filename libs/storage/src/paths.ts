// Path rules shared by every driver (enforced once, by ./base.ts): absolute, '/'-separated,
// segments of [A-Za-z0-9._-], no '.' or '..' segment, no empty segment, no trailing slash,
// at most 1024 bytes. '/' alone names the root (for list/walk/delete of everything).
const SEGMENT = /^[A-Za-z0-9._-]+$/;
export const MAX_PATH_LENGTH = 1024;

/** Returns null when the path is valid, else the reason it is not. */
export function pathProblem(path: string, allowRoot = false): string | null {
  if (typeof path !== 'string') return 'not a string';
  if (path === '/') return allowRoot ? null : 'the root is not a file';
  if (path.length > MAX_PATH_LENGTH) return `longer than ${MAX_PATH_LENGTH} characters`;
  if (!path.startsWith('/')) return 'must start with "/"';
  if (path.includes('\0')) return 'contains NUL';
  const segments = path.slice(1).split('/');
  for (const s of segments) {
    if (s === '') return 'empty segment';
    if (s === '.' || s === '..') return `"${s}" segment`;
    if (!SEGMENT.test(s)) return `segment ${JSON.stringify(s)} has characters outside [A-Za-z0-9._-]`;
  }
  return null;
}

/** Joins validated segments; never used with user input that was not validated first. */
export function joinPath(...parts: string[]): string {
  return '/' + parts.flatMap((p) => p.split('/')).filter((p) => p !== '').join('/');
}

/** Parent directory of a path ('/' for top-level entries). */
export function parentPath(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}
