/**
 * Every setting of k8s-deputy, defined once: its environment variable, default, unit, which
 * programs read it and what it means. The SDK, the supervisor, the CLI (its help texts and
 * `deputy lint`) and the docs' tables all take them from here; shim/*.sh mirrors the ones it
 * reads, and test/contract.test.ts holds the shim and docs/ to this table.
 */

/** The four programs of the package, plus the shell shim. */
export type Program = 'sdk' | 'supervisor' | 'cli' | 'shim';

/** How a setting's text is read. */
export type SettingKind = 'duration' | 'seconds' | 'port' | 'host' | 'exit-status' | 'level' | 'path' | 'secret' | 'signals' | 'rewrites';

export interface Setting<T> {
  /** The environment variable. */
  readonly env: string;
  readonly kind: SettingKind;
  /** The default, in the setting's unit (milliseconds for durations); undefined: unset. */
  readonly defaultValue: T;
  /** The default as written in docs and help (`25s`, `/run`). */
  readonly defaultText: string;
  /** Who reads it. */
  readonly readBy: readonly Program[];
  /** One line for help texts and the docs' tables. */
  readonly summary: string;
}

const setting = <T>(definition: Setting<T>): Setting<T> => Object.freeze(definition);

/** Log levels, lowest first (pino's names and numbers). */
export const LOG_LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity } as const;
export type LogLevel = keyof typeof LOG_LEVELS;

export const SETTINGS = Object.freeze({
  ipcDir: setting({
    env: 'DEPUTY_IPC_DIR',
    kind: 'path',
    defaultValue: '/run',
    defaultText: '/run',
    readBy: ['sdk', 'supervisor', 'cli', 'shim'],
    summary: 'directory of the sockets, the entrypoint pid file and the preStop markers (mount an emptyDir there on a read-only root filesystem)',
  }),
  logLevel: setting<LogLevel>({
    env: 'DEPUTY_LOG_LEVEL',
    kind: 'level',
    defaultValue: 'info',
    defaultText: 'info',
    readBy: ['sdk', 'supervisor', 'cli', 'shim'],
    summary: `log level: ${Object.keys(LOG_LEVELS).join(', ')}`,
  }),
  timeout: setting({
    env: 'DEPUTY_TIMEOUT',
    kind: 'duration',
    defaultValue: 25_000,
    defaultText: '25s',
    readBy: ['supervisor', 'shim', 'cli'],
    summary: "supervisor: time from SIGTERM/SIGINT/terminate (or a preStop hook's start) until the child's process group is killed; keep it under terminationGracePeriodSeconds",
  }),
  stopSignals: setting<readonly NodeJS.Signals[]>({
    env: 'DEPUTY_STOP_SIGNALS',
    kind: 'signals',
    defaultValue: [],
    defaultText: 'unset (SIGTERM and SIGINT only)',
    readBy: ['supervisor', 'shim', 'cli'],
    summary:
      'supervisor: more signals that start graceful termination exactly like SIGTERM (comma-separated: SIGQUIT, QUIT or 3; also --stop-signal), for a lifecycle.stopSignal or an image STOPSIGNAL; other signals are only passed on',
  }),
  rewrite: setting<string | undefined>({
    env: 'DEPUTY_REWRITE',
    kind: 'rewrites',
    defaultValue: undefined,
    defaultText: 'unset',
    readBy: ['supervisor', 'shim', 'cli'],
    summary:
      "supervisor: change a signal on its way to the child (passed on, or sent when terminate cannot be): comma-separated from:to pairs as dumb-init's --rewrite (TERM:QUIT, 15:3); to 0 drops it; also --rewrite",
  }),
  timeoutExitCode: setting({
    env: 'DEPUTY_TIMEOUT_EXIT_CODE',
    kind: 'exit-status',
    defaultValue: 137,
    defaultText: '137',
    readBy: ['supervisor', 'shim'],
    summary: 'supervisor: exit status after the timeout killed the child (137 = 128 + SIGKILL)',
  }),
  gracePeriod: setting({
    env: 'DEPUTY_GRACE_PERIOD',
    kind: 'duration',
    defaultValue: 30_000,
    defaultText: '30s',
    readBy: ['sdk', 'cli'],
    summary: "the app's whole shutdown (drain delay, drain, handlers) must fit in this; set it a little under terminationGracePeriodSeconds",
  }),
  drainDelay: setting({
    env: 'DEPUTY_DRAIN_DELAY',
    kind: 'duration',
    defaultValue: 0,
    defaultText: '5s in Kubernetes (KUBERNETES_SERVICE_HOST set), else 0',
    readBy: ['sdk', 'cli'],
    summary: 'least time to keep serving new connections after shutdown begins, while endpoint removal propagates',
  }),
  drainQuiet: setting({
    env: 'DEPUTY_DRAIN_QUIET',
    kind: 'duration',
    defaultValue: 1000,
    defaultText: '1s',
    readBy: ['sdk'],
    summary: 'after the drain delay, wait until no new connection has brought traffic for this long (capped by the deadline)',
  }),
  healthCheckPort: setting({
    env: 'DEPUTY_HEALTH_CHECK_PORT',
    kind: 'port',
    defaultValue: 8081,
    defaultText: '8081',
    readBy: ['sdk', 'cli', 'shim'],
    summary: 'port of the health server, and the one deputy probe and shim/probe.sh ask',
  }),
  healthCheckHost: setting({
    env: 'DEPUTY_HEALTH_CHECK_HOST',
    kind: 'host',
    defaultValue: '0.0.0.0',
    defaultText: '0.0.0.0',
    readBy: ['sdk', 'cli', 'shim'],
    summary: 'interface the health server binds; deputy probe and shim/probe.sh ask it (127.0.0.1 for 0.0.0.0 or ::)',
  }),
  healthToken: setting<string | undefined>({
    env: 'DEPUTY_HEALTH_TOKEN',
    kind: 'secret',
    defaultValue: undefined,
    defaultText: 'unset',
    readBy: ['sdk'],
    summary: 'when set, ?verbose detail and /metrics are served only with Authorization: Bearer <token> (/metrics answers 401 without it); probes stay open',
  }),
  probeTimeout: setting({
    env: 'DEPUTY_PROBE_TIMEOUT',
    kind: 'seconds',
    defaultValue: 1,
    defaultText: '1',
    readBy: ['shim'],
    summary: 'shim/probe.sh: seconds to wait for the answer (deputy probe takes --timeout)',
  }),
  cli: setting<string | undefined>({
    env: 'DEPUTY_CLI',
    kind: 'path',
    defaultValue: undefined,
    defaultText: "the package's bin/deputy.js",
    readBy: ['shim'],
    summary: 'shim/supervise.sh: deputy CLI used to send terminate when neither socat nor nc is installed',
  }),
});

export type SettingName = keyof typeof SETTINGS;

/** Set when running in a Kubernetes pod: the drain delay then defaults to {@link KUBERNETES_DRAIN_DELAY_MS}. */
export const KUBERNETES_ENV = 'KUBERNETES_SERVICE_HOST';
/** `DEPUTY_DRAIN_DELAY`'s default inside a pod. */
export const KUBERNETES_DRAIN_DELAY_MS = 5000;

/** Kubernetes' own defaults, as the kubelet and the API server apply them. */
export const KUBERNETES_DEFAULTS = Object.freeze({
  terminationGracePeriodSeconds: 30,
  probe: Object.freeze({ periodSeconds: 10, failureThreshold: 3, timeoutSeconds: 1 }),
});

/** A variable's text, or undefined when unset or empty (empty counts as unset everywhere, as in the shim). */
export function settingText(definition: Setting<unknown>, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const text = env[definition.env];
  return text === undefined || text === '' ? undefined : text;
}
