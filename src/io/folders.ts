/**
 * Creating output folders.
 *
 * {@link makeFolders} creates a folder and its missing parents without the endless loop of `mkdir -p` in
 * Node (`fs.mkdir(…, { recursive: true })` never returns where `mkdir` fails with ENOENT although the parent
 * exists, as in `/proc`) and reports what it created, so that {@link removeEmptyFolders} can take it back
 * when the work that needed it fails. {@link checkOutputFolder} proves that a folder can be created and
 * written before any long work starts. Every folder this program creates goes through {@link makeFolders}.
 */
import { closeSync, mkdirSync, openSync, rmdirSync, statSync, unlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { outputFsError } from './errors.ts';

/** An `fs`-like error with a code and a path, for conditions found without a failing call. */
function fsError(code: string, path: string, text: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${text}, '${path}'`), { code, path });
}

/**
 * Create `dir` and its missing parents, one level at a time, and return the folders created (outermost
 * first; empty if `dir` existed). Unlike `mkdirSync(dir, { recursive: true })` it always ends: Node's
 * recursive mkdir retries for ever where `mkdir` fails with ENOENT although the parent exists (`/proc`).
 *
 * @param dir The folder to create.
 * @returns The folders created, outermost first.
 * @throws The `fs` error of the failing step (see {@link outputFsError}); ENOTDIR with the path of a file
 *   that stands where a folder is needed.
 */
export function makeFolders(dir: string): string[] {
  const missing: string[] = [];
  let p = resolve(dir);
  for (;;) {
    let isDir: boolean;
    try {
      isDir = statSync(p).isDirectory();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if ((code === 'ENOENT' || code === 'ENOTDIR') && dirname(p) !== p) {
        missing.unshift(p);
        p = dirname(p);
        continue;
      }
      throw e;
    }
    if (!isDir) throw fsError('ENOTDIR', p, 'not a directory');
    break;
  }
  const created: string[] = [];
  for (const m of missing) {
    try {
      mkdirSync(m);
    } catch (e) {
      removeEmptyFolders(created);
      throw e;
    }
    created.push(m);
  }
  return created;
}

/** Remove folders made by {@link makeFolders} (innermost first) while they are empty; never throws. */
export function removeEmptyFolders(created: readonly string[]): void {
  for (const d of [...created].reverse()) {
    try {
      rmdirSync(d);
    } catch {
      return; // not empty (or gone): leave it and its parents
    }
  }
}

/**
 * Check that `dir` can be created (if missing) and written, by creating it and a probe file in it, and
 * undo both: afterwards the file system is as before. Call it before long work whose result goes to `dir`.
 *
 * @param dir The folder that will receive output.
 * @param what Names the output as the user gave it, e.g. `--out runs/a`.
 * @throws UserError (one line, see {@link outputFsError}) if it cannot.
 */
export function checkOutputFolder(dir: string, what: string): void {
  let created: string[] = [];
  try {
    created = makeFolders(dir);
    const probe = join(resolve(dir), `.lts-write-test-${process.pid}-${Date.now()}`);
    try {
      closeSync(openSync(probe, 'wx'));
    } catch (e) {
      throw Object.assign(e as NodeJS.ErrnoException, { path: resolve(dir) }); // name the folder, not the probe
    }
    unlinkSync(probe);
  } catch (e) {
    throw outputFsError(e, what) ?? e;
  } finally {
    removeEmptyFolders(created);
  }
}
