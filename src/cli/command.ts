/**
 * What every command of the command line shares: its shape, its errors, and
 * strict flag parsing on top of node:util's `parseArgs` tokens.
 */
import { parseArgs as tokenize } from 'node:util';

/** How a flag is read: `value` once, `repeat` any number of times, `switch` without a value. */
type FlagKind = 'value' | 'repeat' | 'switch';

export interface ParsedArgs {
  values: Record<string, string>;
  repeated: Record<string, string[]>;
  switches: Set<string>;
  positionals: string[];
}

interface HttpCall {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  body?: Record<string, unknown>;
}

export interface Command {
  summary: string;
  usage: string;
  flags: Record<string, FlagKind>;
  /** Names of the positional arguments it takes, in order. */
  positionals?: string[];
  request(args: ParsedArgs): HttpCall;
}

export class CliError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** Mistakes in the command itself exit with 2, as getopt-style tools do. */
export function usageError(code: string, message: string): CliError {
  return new CliError(code, message, 2);
}

export function requireFlags(args: ParsedArgs, names: string[]): void {
  const missing = names.filter((n) => args.values[n] === undefined && args.repeated[n] === undefined);
  if (missing.length) throw usageError('missing_flag', `missing ${missing.map((m) => `--${m}`).join(', ')}`);
}

/**
 * Strict flag parsing: unknown flags, missing values, repeats of single flags
 * and stray words are errors. node:util reads the words; the checks stay here
 * so that each mistake keeps its own code and message (util's strict mode
 * would throw one generic error for all of them).
 */
export function parseArgs(command: Command, args: string[]): ParsedArgs {
  const options = Object.fromEntries(
    Object.entries(command.flags).map(([name, kind]) => [
      name,
      kind === 'switch' ? { type: 'boolean' as const } : { type: 'string' as const, multiple: kind === 'repeat' },
    ]),
  );
  const { tokens } = tokenize({ args, options, strict: false, allowPositionals: true, tokens: true });
  const parsed: ParsedArgs = { values: {}, repeated: {}, switches: new Set(), positionals: [] };
  for (const token of tokens) {
    if (token.kind === 'positional') parsed.positionals.push(token.value);
    if (token.kind !== 'option') continue;
    const kind = token.rawName.startsWith('--') && Object.hasOwn(command.flags, token.name) ? command.flags[token.name] : undefined;
    if (kind === undefined) {
      // The word as typed (util splits -abc into -a -b -c), without any =value.
      const flag = args[token.index]!.split('=')[0]!;
      throw usageError(
        'unknown_flag',
        `unknown flag "${flag.slice(0, 100)}" for "${command.usage.split(' ').slice(0, 2).join(' ')}"; usage: ${command.usage}`,
      );
    }
    const name = token.name;
    if (kind === 'switch') {
      if (token.inlineValue) throw usageError('bad_arguments', `--${name} takes no value`);
      parsed.switches.add(name);
      continue;
    }
    // A flag followed by another flag has no value, even though util would take the next word.
    const value = token.value;
    if (value === undefined || (!token.inlineValue && value.startsWith('--'))) throw usageError('missing_value', `--${name} needs a value`);
    if (kind === 'repeat') {
      (parsed.repeated[name] ??= []).push(value);
    } else {
      if (parsed.values[name] !== undefined) throw usageError('bad_arguments', `--${name} is given twice`);
      parsed.values[name] = value;
    }
  }
  const allowed = command.positionals?.length ?? 0;
  if (parsed.positionals.length > allowed)
    throw usageError('unexpected_argument', `unexpected argument "${parsed.positionals[allowed]!.slice(0, 100)}"; usage: ${command.usage}`);
  return parsed;
}
