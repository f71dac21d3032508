// A minimal, deterministic POSIX ustar writer: entries in the order given, fixed owner, mode and
// mtime taken from the entry, no host metadata. Enough for image layers (files, dirs, symlinks).
import { createReadStream } from 'node:fs';

const BLOCK = 512;

function octal(n, width) {
  const s = n.toString(8);
  if (s.length > width - 1) throw new Error(`tar: value ${n} does not fit in ${width} bytes`);
  return s.padStart(width - 1, '0') + '\0';
}

function splitName(name) {
  if (Buffer.byteLength(name) <= 100) return { name, prefix: '' };
  const i = name.lastIndexOf('/', name.length - 1);
  for (let cut = i; cut > 0; cut = name.lastIndexOf('/', cut - 1)) {
    const prefix = name.slice(0, cut);
    const rest = name.slice(cut + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100) return { name: rest, prefix };
  }
  throw new Error(`tar: path too long for ustar: ${name}`);
}

/** entry: { path, type: 'file'|'dir'|'symlink', mode, uid, gid, size, linkname, mtime } */
export function header(entry) {
  const buf = Buffer.alloc(BLOCK, 0);
  const path = entry.type === 'dir' && !entry.path.endsWith('/') ? entry.path + '/' : entry.path;
  const { name, prefix } = splitName(path);
  buf.write(name, 0, 100, 'utf8');
  buf.write(octal(entry.mode & 0o7777, 8), 100, 'ascii');
  buf.write(octal(entry.uid ?? 0, 8), 108, 'ascii');
  buf.write(octal(entry.gid ?? 0, 8), 116, 'ascii');
  buf.write(octal(entry.type === 'file' ? entry.size : 0, 12), 124, 'ascii');
  buf.write(octal(entry.mtime ?? 0, 12), 136, 'ascii');
  buf.write('        ', 148, 'ascii'); // checksum placeholder
  buf.write(entry.type === 'file' ? '0' : entry.type === 'dir' ? '5' : '2', 156, 'ascii');
  if (entry.linkname) buf.write(entry.linkname, 157, 100, 'utf8');
  buf.write('ustar\0', 257, 'ascii');
  buf.write('00', 263, 'ascii');
  buf.write(entry.uid === 65532 ? 'nonroot' : 'root', 265, 32, 'ascii');
  buf.write(entry.gid === 65532 ? 'nonroot' : 'root', 297, 32, 'ascii');
  if (prefix) buf.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const b of buf) sum += b;
  buf.write(octal(sum, 7) + ' ', 148, 'ascii');
  return buf;
}

/** Yields the tar stream for entries; file entries carry `source` (a path) or `content` (Buffer). */
export async function* tarStream(entries) {
  for (const e of entries) {
    yield header(e);
    if (e.type !== 'file') continue;
    let n = 0;
    if (e.content) {
      yield e.content;
      n = e.content.length;
    } else {
      for await (const chunk of createReadStream(e.source, { highWaterMark: 1 << 20 })) {
        n += chunk.length;
        yield chunk;
      }
    }
    if (n !== e.size) throw new Error(`tar: ${e.path} changed while reading (${n} != ${e.size})`);
    const pad = (BLOCK - (n % BLOCK)) % BLOCK;
    if (pad) yield Buffer.alloc(pad, 0);
  }
  yield Buffer.alloc(BLOCK * 2, 0);
}
