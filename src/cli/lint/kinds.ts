/** The workload kinds deputy lint reads, and where each keeps its pod spec. */
import type { Path } from './types.js';

export const POD_SPEC_PATHS: Readonly<Record<string, Path>> = {
  Pod: ['spec'],
  Deployment: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
  ReplicationController: ['spec', 'template', 'spec'], // read like a ReplicaSet
  Job: ['spec', 'template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
  Rollout: ['spec', 'template', 'spec'], // Argo Rollouts: a Deployment by another name
};

/** Kinds that run to completion: they serve no traffic. */
export const BATCH_KINDS: ReadonlySet<string> = new Set(['Job', 'CronJob']);
