/**
 * User-facing error types.
 *
 * A {@link UserError} is an expected failure caused by the user's input (a bad
 * path, a broken file, an invalid option). Its message is a single line that
 * names the offending thing and says how to fix it; the CLI prints it as
 * `lts: <message>` without a stack trace and exits with {@link UserError.exitCode}.
 * Anything that is not a `UserError` is a bug and is reported with its stack.
 */

/** Collapse any whitespace run containing a line break into one space, so messages stay one line. */
function oneLine(s: string): string {
  return s.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}

/**
 * An error caused by user input, printed as one line by the CLI.
 *
 * @example
 * throw new UserError('--seconds must be a positive number, got "abc"; pass e.g. --seconds 4');
 */
export class UserError extends Error {
  /** Process exit code the CLI uses for this error. Default 2 (usage / input error). */
  readonly exitCode: number;

  /**
   * @param message One line: what is wrong, naming the thing (file, option, value), and what to do.
   *   Line breaks are folded into spaces.
   * @param options.exitCode Exit code for the CLI, default 2.
   * @param options.cause Underlying error, kept for debugging (not printed by the CLI).
   */
  constructor(message: string, options: { exitCode?: number; cause?: unknown } = {}) {
    super(oneLine(message), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'UserError';
    this.exitCode = options.exitCode ?? 2;
  }
}

/**
 * An audio file that cannot be read: missing, not audio, unsupported encoding,
 * truncated or holding invalid samples. The message always starts with the
 * file name (as given by the caller) followed by a colon.
 */
export class AudioFileError extends UserError {
  /** The path (or name) of the offending file, exactly as the caller passed it. */
  readonly path: string;

  /**
   * @param path The file path or display name; it is prefixed to the message.
   * @param problem One line: what is wrong and what to do, e.g.
   *   `"not a WAV file (no RIFF header); convert it with: sox in.xyz out.wav"`.
   * @param options Same as {@link UserError}.
   */
  constructor(path: string, problem: string, options: { exitCode?: number; cause?: unknown } = {}) {
    super(`${path}: ${problem}`, options);
    this.name = 'AudioFileError';
    this.path = path;
  }
}

/** True if `e` is a {@link UserError} (including subclasses). */
export function isUserError(e: unknown): e is UserError {
  return e instanceof UserError;
}
