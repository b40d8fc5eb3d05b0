/**
 * How k8s-deputy is wired into a container: the supervisor must stay the entrypoint, and the IPC
 * directory (the terminate socket, the entrypoint pid file, the preStop markers) must be writable
 * and the container's own.
 */
import { posix } from 'node:path';
import { SETTINGS } from '../../../contract/settings.js';
import type { ContainerContext } from '../pod.js';
import { isObject, type Json } from '../types.js';
import type { Rule } from './rule.js';

/** The writable mount that holds `dir`, the longest mountPath first. */
function mountFor(container: ContainerContext, dir: string): Json | undefined {
  const mounts = Array.isArray(container.spec.volumeMounts) ? container.spec.volumeMounts.filter(isObject) : [];
  let best: Json | undefined;
  let bestLength = -1;
  for (const mount of mounts) {
    if (typeof mount.mountPath !== 'string') continue;
    const at = mount.mountPath.replace(/\/+$/, '');
    if ((at === '' || dir === at || dir.startsWith(`${at}/`)) && at.length > bestLength) {
      best = mount;
      bestLength = at.length;
    }
  }
  return best;
}

export const commandOverridesEntrypoint: Rule = {
  id: 'command-overrides-entrypoint',
  severity: 'error',
  on: 'container',
  summary: '`command` replaces the image ENTRYPOINT (deputy supervise); put the app in `args`',
  problem: 'deputy supervise does not run: no supervisor timeout, no signal forwarding, no zombie reaping',
  fix: 'move the app to args (it replaces only CMD), or start command with [deputy, supervise, --]',
  check(c, report) {
    if (c.entrypoint !== 'command') return;
    report({
      path: [...c.path, 'command'],
      message: `command ${JSON.stringify(c.command)} replaces the image's ENTRYPOINT, so deputy supervise does not run: no supervisor timeout, no signal forwarding, no zombie reaping`,
      fix: `move it to args (args replaces only CMD): args: ${JSON.stringify([...c.command, ...c.args])}; or start command with ["deputy", "supervise", "--"]`,
    });
  },
};

export const readonlyRootWithoutIpcVolume: Rule = {
  id: 'readonly-root-without-ipc-volume',
  severity: 'error',
  on: 'container',
  summary: `a read-only root filesystem needs a writable volume at the IPC directory (${SETTINGS.ipcDir.env}, ${SETTINGS.ipcDir.defaultText})`,
  problem: 'the app cannot create its terminate socket and pid file',
  fix: `mount an emptyDir (medium: Memory) at ${SETTINGS.ipcDir.defaultText}`,
  check(c, report) {
    if (c.ipcDir === undefined || (c.spec.securityContext as Json | undefined)?.readOnlyRootFilesystem !== true) return;
    const mount = mountFor(c, c.ipcDir);
    if (mount && mount.readOnly !== true) return;
    report({
      path: [...c.path, 'securityContext', 'readOnlyRootFilesystem'],
      message: `readOnlyRootFilesystem is true but nothing writable is mounted at the IPC directory ${c.ipcDir}: the app cannot create its terminate socket and pid file`,
      fix: `mount an emptyDir there: volumeMounts: [{ name: run, mountPath: ${c.ipcDir} }] and volumes: [{ name: run, emptyDir: { medium: Memory } }]`,
    });
  },
};

export const sharedIpcVolume: Rule = {
  id: 'shared-ipc-volume',
  severity: 'error',
  on: 'pod',
  summary: 'two containers that run k8s-deputy must not share one volume directory as their IPC directory',
  problem: "they share deputy-entrypoint.pid and the socket names: deputy terminate in one container can stop the other container's process",
  fix: `give each container its own emptyDir at ${SETTINGS.ipcDir.defaultText} (or its own subPath)`,
  check(pod, report) {
    const owners = new Map<string, ContainerContext>();
    for (const c of pod.checked) {
      if (c.ipcDir === undefined) continue;
      const mount = mountFor(c, c.ipcDir);
      if (!mount || typeof mount.name !== 'string' || mount.subPathExpr !== undefined) continue;
      const inside = posix.relative(String(mount.mountPath), c.ipcDir);
      const key = `${mount.name}:${posix.join('/', typeof mount.subPath === 'string' ? mount.subPath : '', inside)}`;
      const first = owners.get(key);
      if (!first) {
        owners.set(key, c);
        continue;
      }
      report({
        container: c.name,
        path: [...c.path, 'volumeMounts'],
        message: `containers ${first.name} and ${c.name} both keep their IPC directory on volume ${mount.name}: they share deputy-entrypoint.pid and the terminate socket names, so deputy terminate in one container can stop the other's process, and the pid file names whichever started last`,
        fix: `give ${c.name} its own volume: volumeMounts: [{ name: run-${c.name}, mountPath: ${c.ipcDir} }] and volumes: [{ name: run-${c.name}, emptyDir: { medium: Memory } }]`,
      });
    }
  },
};
