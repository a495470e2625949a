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
 */
import {
  openSync, writeSync, fsyncSync, closeSync, renameSync, unlinkSync,
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
  const bytes = toBytes(data);
  const tmp = tempPathFor(path);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', 0o644);
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== undefined) try { closeSync(fd); } catch { /* ignore */ }
    try { unlinkSync(tmp); } catch { /* never created or already renamed */ }
    throw e;
  }
  fsyncDirSync(dirname(path));
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
