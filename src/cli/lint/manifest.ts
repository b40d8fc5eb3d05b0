/**
 * Reads manifest text into the objects `deputy lint` looks at. Sequence: parse every YAML document
 * (keeping line numbers), unfold `List`s, then sort each object into
 * - a workload of a kind whose pod template we know → its pod spec is checked;
 * - an unknown kind that looks like a workload (`spec.template.spec.containers` or
 *   `spec.containers`) → reported when it shows k8s-deputy, since nothing in it was checked;
 * - anything else (Service, ConfigMap, Ingress, HPA, CRDs, …) → skipped quietly and counted.
 * Only input that cannot be parsed — or a workload without a usable pod spec — is an error.
 */
import { LineCounter, parseAllDocuments } from 'yaml';
import { showsDeputy as showsDeputyIn } from './container.js';
import { POD_SPEC_PATHS } from './kinds.js';
import { ManifestError, get, isObject, pathText, type Json, type Path } from './types.js';

export interface ManifestObject {
  readonly document: number;
  readonly kind: string;
  readonly name: string;
  /** `workload`: a known kind with its pod spec; `unknown-workload`: looks like one; `other`: no pods. */
  readonly role: 'workload' | 'unknown-workload' | 'other';
  /** The pod spec and its path from the document root (workloads only). */
  readonly spec?: Json;
  readonly specPath?: Path;
  /** Some container of an unknown-workload object shows k8s-deputy. */
  readonly showsDeputy?: boolean;
  /** Path of the object inside its document (`items[2]` inside a List). */
  readonly base: Path;
  /** 1-based line of a path in this object's document (or of its nearest existing parent). */
  readonly lineOf: (path: Path) => number | undefined;
}

export interface Manifest {
  readonly objects: readonly ManifestObject[];
  /** Documents that are not Kubernetes objects, skipped in lenient mode. */
  readonly ignoredDocuments: number;
  /** Why the whole file was skipped (lenient mode only). */
  readonly ignored?: string;
}

const TEMPLATE = /\{\{-?\s/;

/** Parses `text`; throws {@link ManifestError} for input that cannot be linted. */
export function readManifest(text: string, file: string, lenient = false): Manifest {
  const lineCounter = new LineCounter();
  const parsed = parseAllDocuments(text, { lineCounter, uniqueKeys: false });
  const documents = Array.isArray(parsed) ? parsed : [];
  const objects: ManifestObject[] = [];
  let ignoredDocuments = 0;

  for (const [docIndex, document] of documents.entries()) {
    const number = docIndex + 1;
    const error = document.errors[0];
    if (error) {
      if (TEMPLATE.test(text)) {
        if (lenient) return { objects: [], ignoredDocuments: 0, ignored: 'a Go (Helm) template, not a manifest' };
        throw new ManifestError(file, 'not valid YAML: it looks like a Helm or Go template; lint the rendered output instead (helm template … | deputy lint -)');
      }
      const reason = error.message.split('\n', 1)[0]!.replace(/ at line \d+, column \d+:?$/, '');
      const at = error.linePos?.[0];
      throw new ManifestError(file, `not valid YAML${at ? ` (line ${at.line}, column ${at.col})` : ''}: ${reason}`);
    }
    let value: unknown;
    try {
      value = document.toJS({ maxAliasCount: 100 });
    } catch (cause) {
      throw new ManifestError(file, `document ${number} cannot be read: ${(cause as Error).message}`);
    }
    if (value === null || value === undefined) continue; // an empty document (e.g. a trailing ---)

    const lineOf = (path: Path): number | undefined => {
      for (let length = path.length; length >= 0; length -= 1) {
        const node = document.getIn(path.slice(0, length), true) as { range?: [number, number, number] } | undefined;
        if (node && typeof node === 'object' && node.range) return lineCounter.linePos(node.range[0]).line;
      }
      return undefined;
    };

    const visit = (object: unknown, base: Path): void => {
      const where = base.length ? `document ${number}, ${pathText(base)}` : `document ${number}`;
      if (!isObject(object) || typeof object.kind !== 'string' || typeof object.apiVersion !== 'string') {
        if (lenient) {
          ignoredDocuments += 1;
          return;
        }
        const shown = isObject(object) ? 'a mapping without apiVersion and kind' : Array.isArray(object) ? 'a list' : `the ${typeof object} ${JSON.stringify(object).slice(0, 40)}`;
        throw new ManifestError(file, `${where} is not a Kubernetes object (it is ${shown}); expected a mapping with apiVersion and kind`);
      }
      const kind = object.kind;
      const name = String(get(object, ['metadata', 'name']) ?? get(object, ['metadata', 'generateName']) ?? '<unnamed>');
      if (kind === 'List' || (kind.endsWith('List') && Array.isArray(object.items))) {
        const items = object.items;
        if (!Array.isArray(items)) throw new ManifestError(file, `${where}: ${kind} has no items list`);
        items.forEach((item, i) => visit(item, [...base, 'items', i]));
        return;
      }
      const specPath = POD_SPEC_PATHS[kind];
      if (!specPath) {
        const podSpec = [get(object, ['spec', 'template', 'spec']), get(object, ['spec'])].find((spec) => Array.isArray(get(spec, ['containers'])));
        if (podSpec === undefined) {
          objects.push({ document: number, kind, name, role: 'other', base, lineOf });
        } else {
          const containers = [...(get(podSpec, ['containers']) as unknown[]), ...((get(podSpec, ['initContainers']) as unknown[] | undefined) ?? [])];
          const showsDeputy = containers.some((c) => isObject(c) && showsDeputyIn(c));
          objects.push({ document: number, kind, name, role: 'unknown-workload', showsDeputy, base, lineOf });
        }
        return;
      }
      const spec = get(object, specPath);
      if (!isObject(spec)) throw new ManifestError(file, `${where} (${kind}/${name}): ${pathText(specPath)} is missing or not a mapping`);
      const containers = spec.containers;
      if (!Array.isArray(containers) || containers.length === 0 || !containers.every((c) => isObject(c) && typeof c.name === 'string')) {
        throw new ManifestError(file, `${where} (${kind}/${name}): ${pathText([...specPath, 'containers'])} must be a non-empty list of containers, each with a name`);
      }
      const init = spec.initContainers;
      if (init !== undefined && (!Array.isArray(init) || !init.every((c) => isObject(c) && typeof c.name === 'string'))) {
        throw new ManifestError(file, `${where} (${kind}/${name}): ${pathText([...specPath, 'initContainers'])} must be a list of containers, each with a name`);
      }
      objects.push({ document: number, kind, name, role: 'workload', spec, specPath: [...base, ...specPath], base, lineOf });
    };
    visit(value, []);
  }
  return { objects, ignoredDocuments };
}
