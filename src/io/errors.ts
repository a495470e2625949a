/**
 * User-facing error types.
 *
 * A {@link UserError} is an expected failure caused by the user's input (a bad
 * path, a broken file, an invalid option). Its message is a single line that
 * names the offending thing and says how to fix it; the CLI prints it as
 * `lts: <message>` without a stack trace and exits with {@link UserError.exitCode}.
 * Anything that is not a `UserError` is a bug and is reported with its stack.
 *
 * Messages are made safe to print: they often quote user content (file names, config values, bytes of a
 * file that is not what it should be), and a control character in it would reach the terminal as is
 * (an escape sequence, a NUL, a carriage return that overwrites the line). {@link printable} shows such
 * characters as visible escapes.
 *
 * {@link outputFsError} turns a file-system error on an output into a one-line UserError naming the path and
 * the fix (creating output folders: `folders.ts`).
 */

/** Collapse any whitespace run containing a line break into one space, so messages stay one line. */
function oneLine(s: string): string {
  return s.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}

/** Longest message kept whole; a longer one keeps its start and its end (the fix), see {@link printable}. */
export const MAX_MESSAGE_LENGTH = 2000;

/**
 * `s` made safe to print on a terminal as one line: line breaks (with the whitespace around them) are folded
 * into one space, every other C0 control character, DEL and the C1 controls (U+0080–U+009F) and the Unicode
 * line and paragraph separators become visible escapes (`\x00`, `\x1b`, `\t`, `\x7f`, `\x9b`, `\u2028`),
 * and a text longer than {@link MAX_MESSAGE_LENGTH} characters keeps its first and last parts around `…`.
 *
 * @param s Any text, e.g. an error message quoting user content.
 * @returns One printable line.
 */
export function printable(s: string): string {
  let out = oneLine(s).replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    const code = c.charCodeAt(0);
    if (c === '\t') return '\\t';
    return code > 0xff ? `\\u${code.toString(16).padStart(4, '0')}` : `\\x${code.toString(16).padStart(2, '0')}`;
  });
  if (out.length > MAX_MESSAGE_LENGTH) {
    const tail = Math.floor(MAX_MESSAGE_LENGTH / 3);
    out = `${out.slice(0, MAX_MESSAGE_LENGTH - tail - 1)}…${out.slice(out.length - tail)}`;
  }
  return out;
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
   *   Line breaks are folded into spaces and control characters shown as escapes ({@link printable}).
   * @param options.exitCode Exit code for the CLI, default 2.
   * @param options.cause Underlying error, kept for debugging (not printed by the CLI).
   */
  constructor(message: string, options: { exitCode?: number; cause?: unknown } = {}) {
    super(printable(message), options.cause === undefined ? undefined : { cause: options.cause });
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

/** What each file-system error code means for an output, and how to fix it. */
const OUTPUT_PROBLEMS: Record<string, [problem: string, fix: string]> = {
  EACCES: ['permission denied', 'choose a folder you can write to'],
  EPERM: ['operation not permitted', 'choose a folder you can write to'],
  EROFS: ['the file system is read-only', 'choose a folder on a writable disk'],
  ENOSPC: ['no space left on the device', 'free some space or choose a folder on another disk'],
  EDQUOT: ['disk quota exceeded', 'free some space or choose a folder on another disk'],
  ENOTDIR: ['a part of the path is a file, not a folder', 'choose another path'],
  EEXIST: ['a file is in the way', 'remove it or choose another path'],
  EISDIR: ['a folder is in the way', 'remove it or choose another path'],
  ENOENT: ['nothing can be created there, it is not an ordinary folder', 'choose a folder on a disk'],
  ENAMETOOLONG: ['the name is too long', 'choose a shorter path'],
  EINVAL: ['the file system refuses the name', 'choose another path'],
  ELOOP: ['too many symbolic links', 'choose another path'],
  EBUSY: ['it is in use, e.g. a mount point', 'choose another path'],
};

/**
 * A file-system error on an output as a one-line UserError, or null if `e` is not one of the file-system
 * errors a user can fix (EACCES, EPERM, EROFS, ENOSPC, EDQUOT, ENOTDIR, EEXIST, EISDIR, ENOENT,
 * ENAMETOOLONG, EINVAL, ELOOP, EBUSY).
 *
 * @param e The error thrown by an `fs` call.
 * @param what Names the output as the user gave it, e.g. `--out runs/a`.
 * @returns e.g. `--out /srv/run: cannot write /srv/run (permission denied); choose a folder you can write to`.
 */
export function outputFsError(e: unknown, what: string): UserError | null {
  const err = e as NodeJS.ErrnoException | null;
  const known = typeof err?.code === 'string' ? OUTPUT_PROBLEMS[err.code] : undefined;
  if (!known) return null;
  const [problem, fix] = known;
  const path = typeof err?.path === 'string' ? err.path : null;
  return new UserError(`${what}: cannot write ${path ?? 'there'} (${problem}); ${fix}`, { cause: e });
}
