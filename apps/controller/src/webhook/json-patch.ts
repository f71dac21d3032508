// RFC 6902 JSON Patch operations, as AdmissionReview responses carry them.
export type JsonPatchOp = { op: 'add' | 'replace'; path: string; value: unknown } | { op: 'remove'; path: string };

/** Escapes one JSON Pointer segment (RFC 6901): "~" → "~0", "/" → "~1". */
export function pointerSegment(s: string): string {
  return s.replaceAll('~', '~0').replaceAll('/', '~1');
}
