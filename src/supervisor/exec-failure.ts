/**
 * Why the supervisor could not start its command: the exit status (127 not found, 126 for any
 * other execve failure, as bash and tini say) and the one log line that tells the user what to
 * do — often all they see of a crash-looping container.
 *
 * Node reports some of these failures as the child's 'error' event (ENOENT, EACCES, EAGAIN,
 * EMFILE, ENFILE) and throws the others from spawn() itself (E2BIG, ENAMETOOLONG, ENOTDIR, ELOOP,
 * ENOMEM, ETXTBSY, …); the supervisor passes both here.
 */

/** The command was not found. */
const EXIT_NOT_FOUND = 127;
/** The command was found but could not be executed. */
const EXIT_NOT_EXECUTABLE = 126;

/** What to do, by errno (ENOENT and E2BIG are worded from the command and its arguments). */
const HINTS: Readonly<Record<string, string>> = {
  EACCES: 'a directory, or missing the execute bit: chmod +x',
  ENAMETOOLONG: 'the command name or path is too long: a name is at most 255 bytes, a path 4095',
  ENOTDIR: 'a component of the path is not a directory',
  ELOOP: 'too many symbolic links in the path: a symlink loop?',
  ETXTBSY: 'the file is open for writing: start it once it is fully written',
  ENOEXEC: 'not an executable format for this machine: built for another architecture?',
  EMFILE: 'too many open files in the supervisor: raise the file-descriptor limit (ulimit -n)',
  ENFILE: 'too many open files on the host: raise fs.file-max or close files',
  ENOMEM: 'out of memory: raise the container memory limit',
  EAGAIN: 'a process or thread limit was reached: raise the pids limit (ulimit -u, the pod pids limit)',
  EPERM: 'not permitted: a security policy (seccomp, AppArmor, SELinux) or a nosuid mount',
};

export interface ExecFailure {
  readonly status: number;
  readonly code: string | undefined;
  readonly message: string;
}

/** What execve found too big, for E2BIG: `argv` with the command as argument 0; a string counts its NUL. */
function e2bigHint(argv: readonly string[], env: NodeJS.ProcessEnv): string {
  let largest = { what: '', bytes: 0 };
  let total = 0;
  const count = (what: string, text: string): void => {
    const bytes = Buffer.byteLength(text) + 1;
    total += bytes;
    if (bytes > largest.bytes) largest = { what, bytes };
  };
  argv.forEach((arg, index) => count(`argument ${index}`, arg));
  for (const [name, value] of Object.entries(env)) if (value !== undefined) count(`environment variable ${name}`, `${name}=${value}`);
  return (
    'the arguments and environment are too big for the kernel: each string must be under 128 KiB (32 pages) ' +
    `and all of them together under a quarter of the stack limit (ulimit -s); the largest is ${largest.what}, ` +
    `${largest.bytes} bytes, of ${total} in all — pass large data through a file`
  );
}

/** The exit status and the message for `error`, raised starting `command args` with `env`. */
export function describeExecFailure(command: string, args: readonly string[], env: NodeJS.ProcessEnv, error: NodeJS.ErrnoException): ExecFailure {
  const code = typeof error.code === 'string' ? error.code : undefined;
  if (code === 'ENOENT') {
    const message = command.includes('/')
      ? `command not found: ${command} (no such file; or a script whose #! interpreter is missing)`
      : `command not found: ${command} (is it installed and on PATH? PATH=${env.PATH ?? ''})`;
    return { status: EXIT_NOT_FOUND, code, message };
  }
  const hint = code === 'E2BIG' ? e2bigHint([command, ...args], env) : ((code && HINTS[code]) ?? (code && error.message.endsWith(code) ? undefined : error.message));
  const message = `cannot execute ${command}: ${code ?? error.message}${hint ? ` (${hint})` : ''}`;
  return { status: EXIT_NOT_EXECUTABLE, code, message };
}
