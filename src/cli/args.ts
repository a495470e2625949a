/**
 * Argument parsing shared by every `lts` command: strict `node:util`
 * parseArgs whose errors become one-line {@link UserError}s pointing at the
 * command's help.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UserError } from '../io/errors.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * A plain decimal number: digits with an optional sign, point and exponent (`2`, `-0.5`, `.5`, `1e-4`);
 * not hex (`0x10`), binary, octal, `Infinity` or an empty string, which `Number()` would also accept.
 */
export const DECIMAL = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

/**
 * Parse `argv` strictly against `options`.
 *
 * @param command the subcommand name, used in the error (`see lts COMMAND --help`); empty for plain `lts`.
 * @param allowPositionals whether free arguments are accepted (default false).
 * @throws UserError for an unknown option, a missing value or an unexpected argument.
 */
export function parseCommandArgs<O extends Options, P extends boolean = false>(
  command: string,
  argv: string[],
  options: O,
  allowPositionals?: P,
) {
  try {
    return parseArgs({ args: joinNegativeValues(argv, options), strict: true, allowPositionals: (allowPositionals ?? false) as P, options });
  } catch (e) {
    throw new UserError(`${(e as Error).message.split('\n')[0]}; see lts${command ? ' ' + command : ''} --help`);
  }
}

/**
 * `--normalize -1`: node's parseArgs reads a value that starts with `-` as an option and
 * refuses it as ambiguous. For options that take a value, a following negative number
 * (`-1`, `-0.3`, `-.5`, `-3e-2`) is joined as `--normalize=-1`.
 */
function joinNegativeValues(argv: string[], options: Options): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const name = a.startsWith('--') && !a.includes('=') ? a.slice(2) : null;
    const next = argv[i + 1];
    if (name && options[name]?.type === 'string' && next !== undefined && /^-(\d|\.\d)/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}
