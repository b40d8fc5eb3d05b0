/**
 * A workload's pod spec as the rules see it: the pod's grace period T
 * (`terminationGracePeriodSeconds`, Kubernetes' default where unset), its regular containers and
 * its native sidecars (KEP-753: `initContainers` entries with `restartPolicy: Always`; plain init
 * containers have finished before termination and play no part), each marked checked or not.
 * A container is checked when it shows k8s-deputy, or for every container with `--all`.
 */
import { KUBERNETES_DEFAULTS } from '../../contract/settings.js';
import { readContainer, type Container } from './container.js';
import { BATCH_KINDS } from './kinds.js';
import type { ManifestObject } from './manifest.js';
import { formatMs, isObject, type Json, type LintOptions, type Path, type Problem } from './types.js';

export interface ContainerContext extends Container {
  readonly pod: PodContext;
  readonly checked: boolean;
}

export interface PodContext {
  readonly file: string;
  readonly document: number;
  readonly kind: string;
  readonly name: string;
  readonly spec: Json;
  readonly specPath: Path;
  /** Jobs and CronJobs run to completion: no traffic, no probes needed. */
  readonly batch: boolean;
  /** T in milliseconds; undefined when unreadable (then a problem is recorded). */
  readonly graceMs?: number;
  /** `terminationGracePeriodSeconds 30 (the default)` */
  readonly graceLabel: string;
  /** The field, or the pod spec when it is unset. */
  readonly gracePath: Path;
  readonly osName?: string;
  /** Regular containers, in order. */
  readonly containers: readonly ContainerContext[];
  /** Native sidecars, in order of declaration (they stop in reverse order). */
  readonly sidecars: readonly ContainerContext[];
  /** Both, regular containers first. */
  readonly all: readonly ContainerContext[];
  readonly checked: readonly ContainerContext[];
  readonly problems: readonly Problem[];
}

/** Reads a workload's pod spec (manifest.ts made sure the containers are there and named). */
export function readPod(object: ManifestObject, file: string, options: LintOptions = {}): PodContext {
  const spec = object.spec!;
  const specPath = object.specPath!;
  const problems: Problem[] = [];
  const raw = spec.terminationGracePeriodSeconds;
  let graceMs: number | undefined = KUBERNETES_DEFAULTS.terminationGracePeriodSeconds * 1000;
  let graceLabel = `terminationGracePeriodSeconds ${KUBERNETES_DEFAULTS.terminationGracePeriodSeconds} (the default)`;
  if (raw !== undefined) {
    if (typeof raw === 'number' && Number.isInteger(raw) && raw >= 0) {
      graceMs = raw * 1000;
      graceLabel = `terminationGracePeriodSeconds ${raw}`;
    } else {
      graceMs = undefined;
      graceLabel = 'terminationGracePeriodSeconds ?';
      problems.push({
        path: [...specPath, 'terminationGracePeriodSeconds'],
        message: `terminationGracePeriodSeconds ${JSON.stringify(raw)} is not a whole number of seconds`,
        fix: 'write a non-negative integer, e.g. terminationGracePeriodSeconds: 30',
      });
    }
  }
  const osName = isObject(spec.os) && typeof spec.os.name === 'string' && spec.os.name !== '' ? spec.os.name : undefined;

  const containers: ContainerContext[] = [];
  const sidecars: ContainerContext[] = [];
  const pod: PodContext = {
    file,
    document: object.document,
    kind: object.kind,
    name: object.name,
    spec,
    specPath,
    batch: BATCH_KINDS.has(object.kind),
    ...(graceMs !== undefined ? { graceMs } : {}),
    graceLabel,
    gracePath: raw === undefined ? specPath : [...specPath, 'terminationGracePeriodSeconds'],
    ...(osName !== undefined ? { osName } : {}),
    containers,
    sidecars,
    all: [],
    checked: [],
    problems,
  };
  const add = (list: ContainerContext[], container: Container): void => {
    list.push({ ...container, pod, checked: options.all === true || container.deputy });
  };
  (spec.containers as Json[]).forEach((container, index) => add(containers, readContainer(container, [...specPath, 'containers', index], false)));
  const init = Array.isArray(spec.initContainers) ? (spec.initContainers as Json[]) : [];
  init.forEach((container, index) => {
    if (container.restartPolicy === 'Always') add(sidecars, readContainer(container, [...specPath, 'initContainers', index], true));
  });
  (pod.all as ContainerContext[]).push(...containers, ...sidecars);
  (pod.checked as ContainerContext[]).push(...pod.all.filter((container) => container.checked));
  return pod;
}

/**
 * How long after the pod's deletion the container may still run, at worst, when it owns its
 * stop: its preStop sleep, then (when it runs k8s-deputy) the app's deadline. Undefined when the
 * deadline cannot be known.
 */
export function worstStopMs(container: ContainerContext): number | undefined {
  if (!container.checked) return container.preStop.sleepMs;
  return container.deadline ? container.preStop.sleepMs + container.deadline.ms : undefined;
}

/** `the preStop sleep 5s + ` or nothing. */
export function sleepPrefix(container: Container): string {
  return container.preStop.sleepMs > 0 ? `the preStop sleep ${formatMs(container.preStop.sleepMs)} + ` : '';
}
