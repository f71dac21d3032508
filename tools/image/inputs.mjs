// Fetches what an image is made of, once per version, into ~/.cache/kuik/image-inputs:
// the Node runtime from the npm package node-linux-<arch>, and the C runtime libraries and CA
// certificates from Debian's packages for that architecture. Only the package registries are used.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const NODE_VERSION = process.env.KUIK_NODE_VERSION || '24.21.0';
export const DEBIAN_PACKAGES = ['libc6', 'libgcc-s1', 'libstdc++6', 'ca-certificates'];
export const ARCHES = {
  amd64: { npm: 'x64', triplet: 'x86_64-linux-gnu', loader: 'lib64/ld-linux-x86-64.so.2' },
  arm64: { npm: 'arm64', triplet: 'aarch64-linux-gnu', loader: 'lib/ld-linux-aarch64.so.1' },
};

const cacheRoot = path.join(process.env.KUIK_CACHE_DIR || path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'kuik'), 'image-inputs');

function run(cmd, args, opts = {}) {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], ...opts });
}

/** Directory holding bin/node for the architecture. */
export function nodeRuntime(arch) {
  const dir = path.join(cacheRoot, `node-${NODE_VERSION}-${arch}`);
  if (existsSync(path.join(dir, 'bin/node'))) return dir;
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const pkg = `node-linux-${ARCHES[arch].npm}@${NODE_VERSION}`;
  const file = run('npm', ['pack', '--silent', pkg], { cwd: tmp }).trim().split('\n').pop();
  run('tar', ['-xzf', path.join(tmp, file), '--strip-components=1', '-C', tmp]);
  rmSync(path.join(tmp, file));
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return dir;
}

function ensureForeignArch(arch) {
  const native = run('dpkg', ['--print-architecture']).trim();
  if (arch === native) return;
  const foreign = run('dpkg', ['--print-foreign-architectures']).split('\n');
  if (!foreign.includes(arch)) {
    console.error(`[image] enabling Debian architecture ${arch} to download its runtime libraries`);
    run('dpkg', ['--add-architecture', arch]);
    run('apt-get', ['update', '-qq']);
  }
}

/** The Debian release the libraries come from: that of the Dockerfiles' distroless/cc-debian12 base. */
export const DEBIAN_RELEASE = { id: 'debian', codename: 'bookworm' };

/**
 * The packages are fetched with the host's apt, so the host must be that Debian release: another
 * distribution's apt (Ubuntu's, say) would put its own glibc in the image. Stop instead of building
 * something else.
 */
function requireDebianHost() {
  let release = {};
  try {
    release = Object.fromEntries(
      readFileSync('/etc/os-release', 'utf8').split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).replace(/^"|"$/g, '')]),
    );
  } catch {
    // no os-release: reported below
  }
  if (release.ID !== DEBIAN_RELEASE.id || release.VERSION_CODENAME !== DEBIAN_RELEASE.codename) {
    throw new Error(
      `images take glibc, libgcc, libstdc++ and CA certificates from Debian ${DEBIAN_RELEASE.codename}'s packages through apt, ` +
        `but this host is ${release.PRETTY_NAME ?? 'unknown'}: build the images on Debian ${DEBIAN_RELEASE.codename} (e.g. inside a debian:${DEBIAN_RELEASE.codename} container)`,
    );
  }
}

/** Extracted Debian packages for the architecture: { name: { version, dir } }. */
export function debianPackages(arch) {
  requireDebianHost();
  const out = {};
  let updated = false;
  for (const name of DEBIAN_PACKAGES) {
    const spec = name === 'ca-certificates' ? name : `${name}:${arch}`;
    const policy = () => run('apt-cache', ['policy', spec]);
    let candidate = /Candidate: (\S+)/.exec(policy())?.[1];
    if (!candidate || candidate === '(none)') {
      ensureForeignArch(arch);
      if (!updated) run('apt-get', ['update', '-qq']);
      updated = true;
      candidate = /Candidate: (\S+)/.exec(policy())?.[1];
      if (!candidate || candidate === '(none)') throw new Error(`Debian package ${spec} not found; is apt configured?`);
    }
    const pkgArch = name === 'ca-certificates' ? 'all' : arch;
    const dir = path.join(cacheRoot, `deb-${name}_${candidate.replace(/[:~+]/g, '_')}_${pkgArch}`);
    if (!existsSync(path.join(dir, '.done'))) {
      const tmp = `${dir}.tmp-${process.pid}`;
      rmSync(tmp, { recursive: true, force: true });
      mkdirSync(tmp, { recursive: true });
      run('apt-get', ['download', '-qq', `${spec}=${candidate}`], { cwd: tmp });
      const deb = readdirSync(tmp).find((f) => f.endsWith('.deb'));
      if (!deb) throw new Error(`apt-get download ${spec} produced no .deb`);
      mkdirSync(path.join(tmp, 'root'));
      run('dpkg-deb', ['-x', path.join(tmp, deb), path.join(tmp, 'root')]);
      run('touch', [path.join(tmp, '.done')]);
      rmSync(dir, { recursive: true, force: true });
      renameSync(tmp, dir);
    }
    out[name] = { version: candidate, dir: path.join(dir, 'root') };
  }
  return out;
}
