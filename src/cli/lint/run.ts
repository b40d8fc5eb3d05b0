/**
 * `deputy lint <path...>` as a command: expand the paths (a file; `-` for stdin; a directory →
 * every *.yaml and *.yml below it, hidden directories and node_modules left out, in name order),
 * read them, lint them as one run, print, and return the exit status:
 * 0 no errors (warnings too with --strict), 1 findings that fail, 2 input that cannot be read or
 * parsed (one line on stderr).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../../contract/errors.js';
import { EXIT_FAILURE, EXIT_USAGE } from '../command.js';
import { lintInputs, type LintInput } from './engine.js';
import { countFindings, formatJson, formatText } from './report.js';

export interface LintCommandOptions {
  readonly format: 'text' | 'json';
  readonly strict?: boolean;
  readonly all?: boolean;
}

const MANIFEST_FILE = /\.ya?ml$/i;

async function walk(dir: string, found: string[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!entry.name.startsWith('.') && entry.name !== 'node_modules') await walk(path, found);
    } else if (MANIFEST_FILE.test(entry.name) && (entry.isFile() || (entry.isSymbolicLink() && (await stat(path).catch(() => undefined))?.isFile()))) {
      found.push(path);
    }
  }
}

async function readStdin(stdin: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stdin) text += String(chunk);
  return text;
}

/** The inputs named by `paths`; throws UsageError for what cannot be read. */
export async function readInputs(paths: readonly string[], stdin: NodeJS.ReadableStream = process.stdin): Promise<LintInput[]> {
  const inputs: LintInput[] = [];
  const cannot = (path: string, error: unknown): UsageError =>
    new UsageError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  for (const path of paths) {
    if (path === '-') {
      inputs.push({ file: '-', text: await readStdin(stdin) });
      continue;
    }
    let isDirectory: boolean;
    try {
      isDirectory = (await stat(path)).isDirectory();
    } catch (error) {
      throw cannot(path, error);
    }
    if (!isDirectory) {
      try {
        inputs.push({ file: path, text: await readFile(path, 'utf8') });
      } catch (error) {
        throw cannot(path, error);
      }
      continue;
    }
    const files: string[] = [];
    try {
      await walk(path, files);
    } catch (error) {
      throw cannot(path, error);
    }
    if (files.length === 0) throw new UsageError(`no *.yaml or *.yml file below ${path}`);
    for (const file of files) {
      try {
        inputs.push({ file, text: await readFile(file, 'utf8'), lenient: true });
      } catch (error) {
        throw cannot(file, error);
      }
    }
  }
  return inputs;
}

/** Runs the command; writes the report to `out` and a bad-input line to `err`; resolves with the exit status. */
export async function runLint(
  paths: readonly string[],
  options: LintCommandOptions,
  io: { readonly stdin?: NodeJS.ReadableStream; readonly out?: NodeJS.WritableStream; readonly err?: NodeJS.WritableStream } = {},
): Promise<number> {
  const { stdin = process.stdin, out = process.stdout, err = process.stderr } = io;
  let results;
  try {
    results = lintInputs(await readInputs(paths, stdin), { all: options.all === true });
  } catch (error) {
    err.write(`deputy lint: ${(error as Error).message}\n`);
    return EXIT_USAGE; // unreadable input is the caller's to fix, like a usage error
  }
  out.write(options.format === 'json' ? formatJson(results) : formatText(results));
  const { errors, warnings } = countFindings(results);
  return errors > 0 || (options.strict === true && warnings > 0) ? EXIT_FAILURE : 0;
}
