/**
 * Argument parsing shared by every `lts` command: strict `node:util`
 * parseArgs whose errors become one-line {@link UserError}s pointing at the
 * command's help.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UserError } from '../io/errors.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

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
    return parseArgs({ args: argv, strict: true, allowPositionals: (allowPositionals ?? false) as P, options });
  } catch (e) {
    throw new UserError(`${(e as Error).message.split('\n')[0]}; see lts${command ? ' ' + command : ''} --help`);
  }
}
