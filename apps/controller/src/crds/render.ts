// Renders the CRDs of definitions.ts as the YAML files committed under apps/controller/crds/.
import { stringify } from 'yaml';
import { CRDS, type CustomResourceDefinition } from './definitions.js';

export interface RenderedFile {
  /** File name inside apps/controller/crds/. */
  file: string;
  content: string;
}

const HEADER =
  '# Generated from apps/controller/src/crds/definitions.ts by `npx nx run controller:generate-crds`.\n' +
  '# Do not edit: change definitions.ts and generate again (a test fails when the two differ).\n';

export function renderCrd(crd: CustomResourceDefinition): string {
  return HEADER + stringify(crd, { lineWidth: 0, aliasDuplicateObjects: false });
}

export function renderCrdFiles(): RenderedFile[] {
  return CRDS.map((crd) => ({ file: `${crd.metadata.name}.yaml`, content: renderCrd(crd) }));
}
