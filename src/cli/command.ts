/**
 * One front-end for every `deputy` command: a command is a {@link CommandSpec} (its arguments,
 * options and the settings it reads) and a `run`. The same spec parses the command line and
 * writes `--help`, so the two cannot disagree. No dependency: `deputy supervise`, `terminate` and
 * `probe` start on every container start, preStop hook and exec probe.
 */
import { UsageError } from '../contract/errors.js';
import { SETTINGS, type Setting, type SettingName } from '../contract/settings.js';

/** Exit status for usage errors (unknown option, bad value, missing argument). */
export const EXIT_USAGE = 2;
/** Exit status when a command ran but failed; the one line on stderr says why. */
export const EXIT_FAILURE = 1;

export interface OptionSpec {
  /** Long name without dashes: `timeout` for `--timeout`. */
  readonly name: string;
  readonly short?: string;
  /** Placeholder of the value (`<duration>`); absent for a flag. */
  readonly value?: string;
  readonly description: string;
  /** Shown as `(default: …)`. */
  readonly defaultText?: string;
  /** Accepted values, checked before `parse`. */
  readonly choices?: readonly string[];
  /** May be given more than once; the values are collected in order. */
  readonly repeatable?: boolean;
  /** Turns the text into the value; throws a UsageError starting with `what`. */
  readonly parse?: (text: string, what: string) => unknown;
}

export interface ArgumentSpec {
  readonly name: string;
  readonly description: string;
  readonly required?: boolean;
  /** Takes every remaining argument. */
  readonly variadic?: boolean;
  readonly parse?: (text: string, what: string) => unknown;
}

export interface CommandSpec {
  readonly name: string;
  readonly summary: string;
  readonly arguments: readonly ArgumentSpec[];
  readonly options: readonly OptionSpec[];
  /** Options end at the first argument: what follows belongs to the command being run. */
  readonly passThrough?: boolean;
  /** Settings this command reads, listed under Environment in its help. */
  readonly settings: readonly SettingName[];
  /** Free text after the generated sections. */
  readonly details?: string;
}

export interface ParsedCommandLine {
  /** Option values by name: string/parsed value, true for flags, arrays for repeatable ones. */
  readonly options: Readonly<Record<string, unknown>>;
  /** Arguments by name (a variadic one as an array). */
  readonly args: Readonly<Record<string, unknown>>;
  readonly help: boolean;
}

const label = (option: OptionSpec): string => `--${option.name}${option.value ? ` ${option.value}` : ''}`;

function parseValue(option: OptionSpec, text: string): unknown {
  const what = `option '${label(option)}'`;
  if (option.choices && !option.choices.includes(text)) {
    throw new UsageError(`${what} argument '${text}' is invalid. Allowed choices are ${option.choices.join(', ')}`);
  }
  return option.parse ? option.parse(text, what) : text;
}

/** Parses `argv` (the words after the command's name) against `spec`; throws UsageError. */
export function parseCommandLine(spec: CommandSpec, argv: readonly string[]): ParsedCommandLine {
  const options: Record<string, unknown> = {};
  const positionals: string[] = [];
  const byName = new Map<string, OptionSpec>();
  for (const option of spec.options) {
    byName.set(`--${option.name}`, option);
    if (option.short) byName.set(`-${option.short}`, option);
  }
  const set = (option: OptionSpec, value: unknown): void => {
    if (option.repeatable) ((options[option.name] ??= []) as unknown[]).push(value);
    else options[option.name] = value;
  };
  let help = false;
  for (let index = 0; index < argv.length; index += 1) {
    const arg = argv[index]!;
    if (arg === '--') {
      positionals.push(...argv.slice(index + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      if (spec.passThrough) {
        positionals.push(...argv.slice(index));
        break;
      }
      positionals.push(arg);
      continue;
    }
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    const equals = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = equals > 0 ? arg.slice(0, equals) : arg;
    const inline = equals > 0 ? arg.slice(equals + 1) : undefined;
    if (name.startsWith('--no-') && byName.get(`--${name.slice(5)}`)?.value === undefined && byName.has(`--${name.slice(5)}`)) {
      if (inline !== undefined) throw new UsageError(`option '${name}' takes no value`);
      options[name.slice(5)] = false;
      continue;
    }
    // -gs: several one-letter flags together
    if (!name.startsWith('--') && name.length > 2) {
      const letters = [...name.slice(1)].map((letter) => byName.get(`-${letter}`));
      if (letters.every((option) => option !== undefined && option.value === undefined)) {
        for (const option of letters) set(option!, true);
        continue;
      }
    }
    const option = byName.get(name);
    if (!option) throw new UsageError(`unknown option '${name}'`);
    if (option.value === undefined) {
      if (inline !== undefined) throw new UsageError(`option '${label(option)}' takes no value`);
      set(option, true);
      continue;
    }
    const text = inline ?? argv[++index];
    if (text === undefined) throw new UsageError(`option '${label(option)}' argument missing`);
    set(option, parseValue(option, text));
  }
  if (help) return { options, args: {}, help };

  const args: Record<string, unknown> = {};
  let next = 0;
  for (const argument of spec.arguments) {
    if (argument.variadic) {
      const rest = positionals.slice(next);
      next = positionals.length;
      if (argument.required && rest.length === 0) throw new UsageError(`missing required argument '${argument.name}'`);
      args[argument.name] = rest.map((text) => (argument.parse ? argument.parse(text, `argument '${argument.name}'`) : text));
      continue;
    }
    const text = positionals[next];
    if (text === undefined) {
      if (argument.required) throw new UsageError(`missing required argument '${argument.name}'`);
      continue;
    }
    next += 1;
    args[argument.name] = argument.parse ? argument.parse(text, `argument '${argument.name}'`) : text;
  }
  if (next < positionals.length) throw new UsageError(`too many arguments (${positionals.join(' ')})`);
  return { options, args, help };
}

function columns(rows: ReadonlyArray<readonly [string, string]>): string {
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  return rows.map(([left, right]) => `  ${left.padEnd(width)}${right}`).join('\n');
}

/** `Environment:` lines for `settings`, from the one table of settings. */
export function environmentHelp(settings: readonly SettingName[]): string {
  const rows = settings.map((name): [string, string] => {
    const setting: Setting<unknown> = SETTINGS[name];
    return [setting.env, `${setting.summary} (default: ${setting.defaultText})`];
  });
  return rows.length > 0 ? `Environment (empty counts as unset):\n${columns(rows)}` : '';
}

/** The command's `--help`, from its spec. */
function helpText(spec: CommandSpec): string {
  const usageArgs = spec.arguments.map((argument) => {
    const name = `${argument.name}${argument.variadic ? '...' : ''}`;
    return argument.required ? `<${name}>` : `[${name}]`;
  });
  const sections = [
    `Usage: deputy ${spec.name} [options]${spec.passThrough ? ' [--]' : ''} ${usageArgs.join(' ')}`.trimEnd(),
    spec.summary,
  ];
  if (spec.arguments.length > 0) sections.push(`Arguments:\n${columns(spec.arguments.map((argument) => [argument.name, argument.description]))}`);
  const optionRows = spec.options.map((option): [string, string] => {
    const flags = `${option.short ? `-${option.short}, ` : ''}${label(option)}`;
    const extra = [option.choices ? `choices: ${option.choices.join(', ')}` : '', option.defaultText ? `default: ${option.defaultText}` : '', option.repeatable ? 'repeatable' : '']
      .filter(Boolean)
      .join('; ');
    return [flags, `${option.description}${extra ? ` (${extra})` : ''}`];
  });
  optionRows.push(['-h, --help', 'show this help']);
  sections.push(`Options:\n${columns(optionRows)}`);
  const environment = environmentHelp(spec.settings);
  if (environment) sections.push(environment);
  if (spec.details) sections.push(spec.details.trim());
  return `${sections.join('\n\n')}\n`;
}

/** Prints one line for a failed command and returns its exit status. */
export function fail(command: string, error: unknown): number {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof UsageError) {
    process.stderr.write(`deputy ${command}: ${message} (run deputy ${command} --help for usage)\n`);
    return EXIT_USAGE;
  }
  process.stderr.write(`deputy ${command}: ${message}\n`);
  return EXIT_FAILURE;
}

/** An exit status 0-255 written in decimal, or a UsageError naming `what`. */
export function parseExitStatus(text: string, what: string): number {
  if (/^[0-9]{1,3}$/.test(text) && Number(text) <= 255) return Number(text);
  throw new UsageError(`${what}: ${JSON.stringify(text)} is not an exit status; use an integer from 0 to 255`);
}

/** A command's module: its spec and what it does with a parsed command line. */
export interface CommandModule {
  readonly spec: CommandSpec;
  /** Resolves with the exit status. */
  run(parsed: ParsedCommandLine): Promise<number>;
}

/** Parses, prints help or runs; resolves with the exit status. */
export async function runCommand(module: CommandModule, argv: readonly string[]): Promise<number> {
  let parsed: ParsedCommandLine;
  try {
    parsed = parseCommandLine(module.spec, argv);
  } catch (error) {
    return fail(module.spec.name, error);
  }
  if (parsed.help) {
    process.stdout.write(helpText(module.spec));
    return 0;
  }
  try {
    return await module.run(parsed);
  } catch (error) {
    return fail(module.spec.name, error);
  }
}
