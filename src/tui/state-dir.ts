/**
 * The instrument's state folder (session, MIDI mappings) and its `renders` folder, checked and created before
 * the terminal is taken over: a folder that cannot be used is one line on stderr naming it and the fix (exit 2),
 * never a half-started screen.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../io/errors.ts';
import { makeFolders } from '../io/folders.ts';

/** What a state folder problem tells the user to do instead. */
const FIX = 'set LTS_STATE_DIR (or --state-dir) to a writable folder';

function kindOf(path: string): 'missing' | 'dir' | 'other' {
  try {
    return statSync(path).isDirectory() ? 'dir' : 'other';
  } catch {
    return 'missing';
  }
}

function reason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EROFS') return 'the file system is read-only';
  if (code === 'ENOTDIR' || code === 'EEXIST') return 'a file is in the way of its path';
  if (code === 'ENOSPC') return 'the disk is full';
  return String((e as Error)?.message ?? e).split('\n')[0];
}

/** Create `dir` (and its parents) if needed and check that it is a folder this process can write in. */
function ensureWritableFolder(dir: string, what: string, fileFix: string): void {
  if (kindOf(dir) === 'other') throw new UserError(`${what} ${dir} is a file, not a folder; ${fileFix}`);
  try {
    makeFolders(dir);
  } catch (e) {
    throw new UserError(`cannot create the ${what} ${dir} (${reason(e)}); ${FIX}`, { cause: e });
  }
  if (kindOf(dir) !== 'dir') throw new UserError(`${what} ${dir} is not a folder; ${fileFix}`);
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (e) {
    throw new UserError(`cannot write in the ${what} ${dir} (${reason(e)}); ${FIX}`, { cause: e });
  }
}

/**
 * Make sure the state folder and its `renders` folder exist and are writable.
 *
 * @param stateDir the state folder (absolute).
 * @returns the renders folder (`<stateDir>/renders`).
 * @throws UserError (one line, exit 2) naming the folder and the fix.
 */
export function prepareStateDir(stateDir: string): string {
  ensureWritableFolder(stateDir, 'state folder', `remove or rename that file, or ${FIX}`);
  const renders = join(stateDir, 'renders');
  ensureWritableFolder(renders, 'renders folder', `remove or rename that file (renders are written in that folder), or ${FIX}`);
  return renders;
}
