/**
 * Atomic file writes: the destination either keeps its old content or gets the
 * complete new content, never a partial file, even if the process dies mid-write.
 *
 * Method: write to a uniquely named temporary file in the destination's own
 * directory (so the rename never crosses a file system), `fsync` it, `rename`
 * it over the destination (atomic on POSIX), then `fsync` the directory so the
 * rename itself survives a power loss (best effort: some file systems refuse
 * to open directories). On any failure the temporary file is removed and the
 * original error is re-thrown.
 *
 * {@link StagedFiles} does the same for several files that must appear together
 * (a render's WAV and its sidecar): all are written to temporary files first,
 * then moved into place, and taken back if any of them fails.
 */
import {
  openSync, writeSync, fsyncSync, closeSync, renameSync, unlinkSync, linkSync,
} from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';

/** Temporary sibling path: `.<name>.<pid>.<random>.tmp` in the same directory. */
function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

function toBytes(data: string | Uint8Array): Uint8Array {
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
}

function fsyncDirSync(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Directory fsync is not supported everywhere (e.g. some network/Windows file systems); the rename already happened.
  } finally {
    if (fd !== undefined) try { closeSync(fd); } catch { /* ignore */ }
  }
}

/**
 * Write `data` to `path` atomically (synchronous).
 *
 * @param path Destination file. Its directory must exist; an existing file is replaced.
 * @param data File content; a string is written as UTF-8.
 * @throws The underlying `fs` error (e.g. ENOENT for a missing directory, EACCES);
 *   the destination is then unchanged and no temporary file is left behind.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const tmp = writeTemp(path, toBytes(data));
  try {
    renameSync(tmp, path);
  } catch (e) {
    unlinkQuiet(tmp);
    throw e;
  }
  fsyncDirSync(dirname(path));
}

/**
 * Write `bytes` in full to a new temporary sibling of `path` and fsync it.
 * @returns The temporary file's path.
 * @throws The underlying `fs` error; the temporary file is then removed.
 */
function writeTemp(path: string, bytes: Uint8Array): string {
  const tmp = tempPathFor(path);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', 0o644);
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
    closeSync(fd);
    return tmp;
  } catch (e) {
    if (fd !== undefined) try { closeSync(fd); } catch { /* ignore */ }
    unlinkQuiet(tmp);
    throw e;
  }
}

/**
 * Write `data` to `path` atomically (asynchronous). Same contract as {@link writeFileAtomic}.
 *
 * @param path Destination file. Its directory must exist; an existing file is replaced.
 * @param data File content; a string is written as UTF-8.
 * @returns Resolves once the file is renamed into place.
 */
export async function writeFileAtomicAsync(path: string, data: string | Uint8Array): Promise<void> {
  const bytes = toBytes(data);
  const tmp = tempPathFor(path);
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(tmp, 'wx', 0o644);
    let off = 0;
    while (off < bytes.length) {
      const { bytesWritten } = await handle.write(bytes, off, bytes.length - off);
      off += bytesWritten;
    }
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(tmp, path);
  } catch (e) {
    if (handle !== undefined) try { await handle.close(); } catch { /* ignore */ }
    try { await unlink(tmp); } catch { /* never created or already renamed */ }
    throw e;
  }
  try {
    const dh = await open(dirname(path), 'r');
    try { await dh.sync(); } finally { await dh.close(); }
  } catch {
    // Directory fsync unsupported here; the rename already happened.
  }
}

/** Error codes of `link` on file systems without hard links (FAT, some network shares), where {@link StagedFiles} reserves names instead. */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV', 'EMLINK']);

/**
 * A file-system failure of {@link StagedFiles}, naming the destination concerned (not the temporary file
 * the system call may have been about). `code` is the errno code of the cause (`EACCES`, `ENOSPC`,
 * `EEXIST`, ...), so callers can test it as on a plain `fs` error.
 */
export class AtomicWriteError extends Error {
  /** The errno code of the underlying `fs` error, e.g. `EACCES`; undefined if it had none. */
  readonly code: string | undefined;
  /** The destination file being written when it failed. */
  readonly file: string;

  /**
   * @param file The destination concerned.
   * @param cause The underlying error.
   */
  constructor(file: string, cause: unknown) {
    super(`${file}: ${String((cause as Error)?.message ?? cause).split('\n')[0]}`, { cause });
    this.name = 'AtomicWriteError';
    this.code = (cause as NodeJS.ErrnoException)?.code;
    this.file = file;
  }
}

/** Remove `path` if it exists; errors are ignored (cleanup only). */
function unlinkQuiet(path: string): void {
  try { unlinkSync(path); } catch { /* already gone */ }
}

/**
 * Several files that appear together or not at all.
 *
 * {@link StagedFiles.stage} writes each file in full to a temporary sibling of its destination and fsyncs it;
 * {@link StagedFiles.publish} then moves all of them into place. If any step fails, every file that
 * `publish` had put in place is taken back (a replaced file is restored when the file system allows a
 * backup link) before the error is thrown, so the destinations look as before. Without `overwrite`,
 * a destination is never replaced: the files are hard-linked into place, which fails with `EEXIST` if
 * the name is taken (on file systems without hard links, the name is reserved with an exclusive create
 * and the file moved over it). After a failed `publish` the staged files are still there, so `publish`
 * can be tried again with other names (numbered renders do). {@link StagedFiles.discard} removes what
 * is left; call it in a `finally`.
 *
 * @example
 * const staged = StagedFiles.stage([{ path: 'x.json', data: json }, { path: 'x.wav', data: wav }]);
 * try {
 *   staged.publish();
 * } finally {
 *   staged.discard();
 * }
 */
export class StagedFiles {
  private done = false;

  private constructor(private readonly files: { path: string; tmp: string }[]) {}

  /**
   * Write every file to a temporary sibling of its `path` (same folder, so moving it is a rename).
   *
   * @param files Destination paths (their folders must exist) and contents; a string is written as UTF-8.
   * @throws AtomicWriteError naming the destination whose temporary file could not be written
   *   (EACCES, ENOSPC, EROFS, ENOENT for a missing folder, ...); no temporary file is left behind.
   */
  static stage(files: { path: string; data: string | Uint8Array }[]): StagedFiles {
    const staged: { path: string; tmp: string }[] = [];
    for (const f of files) {
      try {
        staged.push({ path: f.path, tmp: writeTemp(f.path, toBytes(f.data)) });
      } catch (e) {
        for (const s of staged) unlinkQuiet(s.tmp);
        throw new AtomicWriteError(f.path, e);
      }
    }
    return new StagedFiles(staged);
  }

  /**
   * Move the staged files into place, all or none, in the order they were staged.
   *
   * @param paths Destinations, one per staged file in the same order (default: the paths given to
   *   {@link StagedFiles.stage}); each must be in the same folder as the staged file's path.
   * @param opts.overwrite Replace existing files (default false: a taken name fails with code `EEXIST`).
   * @throws AtomicWriteError naming the destination that failed; the destinations are then as before
   *   and the staged files are kept for another try.
   */
  publish(paths: string[] = this.files.map((f) => f.path), opts: { overwrite?: boolean } = {}): void {
    if (this.done) throw new Error('StagedFiles.publish: already published or discarded');
    if (paths.length !== this.files.length) throw new Error(`StagedFiles.publish: ${paths.length} paths for ${this.files.length} files`);
    const undo: (() => void)[] = [];
    const backups: string[] = [];
    const linked: string[] = [];
    let current = paths[0];
    try {
      paths.forEach((dest, i) => {
        current = dest;
        const tmp = this.files[i].tmp;
        if (opts.overwrite) {
          const backup = backupLink(dest);
          try {
            renameSync(tmp, dest);
          } catch (e) {
            if (backup) unlinkQuiet(backup);
            throw e;
          }
          if (backup) backups.push(backup);
          undo.push(() => {
            renameSync(dest, tmp);
            if (backup) renameSync(backup, dest);
          });
        } else if (placeNew(tmp, dest) === 'linked') {
          linked.push(tmp);
          undo.push(() => unlinkSync(dest));
        } else {
          undo.push(() => renameSync(dest, tmp));
        }
      });
    } catch (e) {
      for (const u of undo.reverse()) try { u(); } catch { /* best effort: put back what can be */ }
      for (const b of backups) unlinkQuiet(b);
      throw new AtomicWriteError(current, e);
    }
    this.done = true;
    for (const t of linked) unlinkQuiet(t);
    for (const b of backups) unlinkQuiet(b);
    for (const dir of new Set(paths.map((p) => dirname(p)))) fsyncDirSync(dir);
  }

  /** Remove the staged files that were not published. Idempotent; never throws. */
  discard(): void {
    this.done = true;
    for (const f of this.files) unlinkQuiet(f.tmp);
  }
}

/**
 * Put `tmp` at `dest` without replacing anything: a hard link (atomic, fails with EEXIST if `dest` exists),
 * or where hard links are not supported an exclusive create of `dest` and a rename over it.
 * @returns `'linked'` (`tmp` still exists) or `'moved'` (`tmp` is now `dest`).
 */
function placeNew(tmp: string, dest: string): 'linked' | 'moved' {
  try {
    linkSync(tmp, dest);
    return 'linked';
  } catch (e) {
    if (!NO_HARD_LINKS.has((e as NodeJS.ErrnoException).code ?? '')) throw e;
  }
  closeSync(openSync(dest, 'wx'));
  try {
    renameSync(tmp, dest);
  } catch (e) {
    unlinkQuiet(dest);
    throw e;
  }
  return 'moved';
}

/** A hard link to the existing file `dest` under a temporary name, to restore it if a publish fails; null if there is none or it cannot be made. */
function backupLink(dest: string): string | null {
  const backup = tempPathFor(dest);
  try {
    linkSync(dest, backup);
    return backup;
  } catch {
    return null;
  }
}
