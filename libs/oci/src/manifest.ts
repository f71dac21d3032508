// Manifest parsing and validation for the four manifest types a registry accepts: OCI image
// manifest, OCI image index, Docker v2 schema 2 manifest and manifest list. Parsing yields the
// effective media type (Content-Type and the body's mediaType must agree), every descriptor the
// manifest references (so a registry can check they exist), the OCI 1.1 `subject` and
// `artifactType`, and the descriptor the referrers API lists for it.
import { tryParseDigest, type Digest } from './digest.js';
import { OciError } from './errors.js';
import { baseMediaType, isForeignLayerMediaType, isIndexMediaType, isManifestMediaType, isValidMediaType, MediaType } from './media-types.js';

export interface Platform {
  architecture: string;
  os: string;
  'os.version'?: string;
  'os.features'?: string[];
  variant?: string;
  features?: string[];
}

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  artifactType?: string;
  platform?: Platform;
  data?: string;
}

export interface ParsedManifest {
  /** The effective media type: the one stored with the manifest and served as Content-Type. */
  mediaType: string;
  /** Image manifests only. */
  config?: Descriptor;
  /** Image manifests only (empty for indexes). */
  layers: Descriptor[];
  /** Indexes only (empty for image manifests). */
  manifests: Descriptor[];
  subject?: Descriptor;
  artifactType?: string;
  annotations?: Record<string, string>;
}

// Content types that say nothing about which manifest this is; the body's mediaType decides.
const GENERIC_CONTENT_TYPES = new Set(['', 'application/json', 'application/octet-stream']);

const invalid = (message: string, detail?: unknown): OciError => new OciError('MANIFEST_INVALID', `manifest invalid: ${message}`, detail);

/**
 * Parses and validates manifest bytes sent with the given Content-Type. Throws MANIFEST_INVALID
 * naming the problem. The content itself is never rewritten: its digest is that of the bytes.
 */
export function parseManifest(content: Uint8Array, contentType?: string): ParsedManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(content.buffer, content.byteOffset, content.byteLength).toString('utf8'));
  } catch {
    throw invalid('not valid JSON');
  }
  if (!isObject(doc)) throw invalid('not a JSON object');

  const mediaType = effectiveMediaType(doc, baseMediaType(contentType));
  if (doc['schemaVersion'] !== 2) throw invalid('schemaVersion must be 2');

  const isOci = mediaType === MediaType.OciManifest || mediaType === MediaType.OciIndex;
  const out: ParsedManifest = { mediaType, layers: [], manifests: [] };
  if (isIndexMediaType(mediaType)) {
    out.manifests = descriptorList(doc['manifests'], 'manifests', !isOci);
    for (const [i, d] of out.manifests.entries()) {
      if (!isManifestMediaType(d.mediaType)) throw invalid(`manifests[${i}].mediaType ${JSON.stringify(d.mediaType)} is not a manifest type`);
    }
  } else {
    out.config = descriptor(doc['config'], 'config');
    out.layers = descriptorList(doc['layers'], 'layers', !isOci);
  }
  if (isOci) {
    if (doc['subject'] !== undefined && doc['subject'] !== null) out.subject = descriptor(doc['subject'], 'subject');
    if (doc['artifactType'] !== undefined) {
      if (!isValidMediaType(doc['artifactType'])) throw invalid('artifactType is not a valid media type');
      out.artifactType = doc['artifactType'];
    }
  }
  if (doc['annotations'] !== undefined && doc['annotations'] !== null) out.annotations = stringMap(doc['annotations'], 'annotations');
  return out;
}

function effectiveMediaType(doc: Record<string, unknown>, contentType: string): string {
  const field = doc['mediaType'];
  if (field !== undefined && typeof field !== 'string') throw invalid('mediaType must be a string');
  if (isManifestMediaType(contentType)) {
    // Docker's schema requires the field; requiring it keeps a stored manifest's type readable from its bytes.
    if (field === undefined && (contentType === MediaType.DockerManifest || contentType === MediaType.DockerManifestList)) {
      throw invalid('mediaType is required in Docker manifests');
    }
    if (field !== undefined && field !== contentType) {
      throw invalid(`Content-Type ${contentType} does not match the mediaType field ${JSON.stringify(field)}`);
    }
    return contentType;
  }
  if (!GENERIC_CONTENT_TYPES.has(contentType)) throw invalid(`unsupported manifest media type ${JSON.stringify(contentType)}`);
  if (field !== undefined) {
    if (!isManifestMediaType(field)) throw invalid(`unsupported manifest media type ${JSON.stringify(field)}`);
    return field;
  }
  // OCI manifests may omit mediaType; their shape tells which one they are.
  if (Array.isArray(doc['manifests'])) return MediaType.OciIndex;
  if (isObject(doc['config'])) return MediaType.OciManifest;
  throw invalid('cannot tell the manifest media type (no Content-Type and no mediaType field)');
}

function descriptorList(value: unknown, key: string, required: boolean): Descriptor[] {
  if (value === undefined || value === null) {
    if (required) throw invalid(`${key} is required`);
    return [];
  }
  if (!Array.isArray(value)) throw invalid(`${key} must be an array`);
  return value.map((d, i) => descriptor(d, `${key}[${i}]`));
}

function descriptor(value: unknown, key: string): Descriptor {
  if (!isObject(value)) throw invalid(`${key} must be a descriptor object`);
  const { mediaType, digest, size } = value;
  if (!isValidMediaType(mediaType)) throw invalid(`${key}.mediaType is missing or not a valid media type`);
  const parsed = typeof digest === 'string' ? tryParseDigest(digest) : null;
  if (!parsed) throw invalid(`${key}.digest is missing or not a supported digest`);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw invalid(`${key}.size must be a non-negative integer`);
  const out: Descriptor = { mediaType, digest: parsed.digest, size };
  if (value['urls'] !== undefined && value['urls'] !== null) {
    if (!Array.isArray(value['urls']) || value['urls'].some((u) => typeof u !== 'string')) throw invalid(`${key}.urls must be an array of strings`);
    out.urls = value['urls'] as string[];
  }
  if (value['annotations'] !== undefined && value['annotations'] !== null) out.annotations = stringMap(value['annotations'], `${key}.annotations`);
  if (value['artifactType'] !== undefined) {
    if (!isValidMediaType(value['artifactType'])) throw invalid(`${key}.artifactType is not a valid media type`);
    out.artifactType = value['artifactType'];
  }
  if (value['platform'] !== undefined && value['platform'] !== null) {
    const p = value['platform'];
    if (!isObject(p) || typeof p['architecture'] !== 'string' || typeof p['os'] !== 'string') {
      throw invalid(`${key}.platform needs string architecture and os`);
    }
    out.platform = p as unknown as Platform;
  }
  if (typeof value['data'] === 'string') out.data = value['data'];
  return out;
}

function stringMap(value: unknown, key: string): Record<string, string> {
  if (!isObject(value) || Object.values(value).some((v) => typeof v !== 'string')) throw invalid(`${key} must map strings to strings`);
  return value as Record<string, string>;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export interface ManifestReferences {
  /** Blobs the registry must hold in the repository (config and layers; foreign layers excluded). */
  blobs: Descriptor[];
  /** Manifests the registry must hold in the repository (an index's children). */
  manifests: Descriptor[];
}

/** What a manifest points at and a registry must already have. `subject` is not among them: it may dangle. */
export function manifestReferences(m: ParsedManifest): ManifestReferences {
  const blobs: Descriptor[] = [];
  if (m.config) blobs.push(m.config);
  for (const layer of m.layers) {
    // Foreign (non-distributable) layers with URLs are fetched from elsewhere by clients.
    if (isForeignLayerMediaType(layer.mediaType) && layer.urls && layer.urls.length > 0) continue;
    blobs.push(layer);
  }
  return { blobs, manifests: m.manifests };
}

/** The descriptor the referrers API returns for a manifest that has a subject. */
export function referrerDescriptor(m: ParsedManifest, digest: Digest, size: number): Descriptor {
  const out: Descriptor = { mediaType: m.mediaType, digest, size };
  // image-spec: an image manifest without artifactType is typed by its config's media type.
  const artifactType = m.artifactType ?? (m.config ? m.config.mediaType : undefined);
  if (artifactType !== undefined) out.artifactType = artifactType;
  if (m.annotations && Object.keys(m.annotations).length > 0) out.annotations = m.annotations;
  return out;
}
