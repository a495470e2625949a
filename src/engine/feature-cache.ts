/**
 * On-disk cache of analysed magnitudes, so that a second training run on the
 * same dataset skips the (slow, especially constant-Q) analysis.
 *
 * **Key.** One entry per (audio file, analysis) pair: the entry's file name is
 * derived from the file's absolute path and {@link analysisHash} of the
 * transform configuration. Inside, the entry records a *fingerprint* of the
 * audio file, and is used only when the fingerprint still matches:
 * size, modification time (ms), inode, and a SHA-256 of the first and last
 * 64 KiB of the file.
 *
 * Why not a hash of the whole content: a dataset is often gigabytes; reading
 * it all to hash it costs about as much I/O as decoding it, which is most of
 * what the cache is meant to save on a cold disk. Size + mtime + inode catch
 * every ordinary edit (an editor or converter rewrites the file, changing its
 * mtime, and a save-by-rename changes the inode); the head/tail hash catches a
 * same-size rewrite whose mtime was preserved (`cp -p`, `rsync -t`, archive
 * extraction) whenever the header or the end of the audio changed, which is
 * where re-encodes, trims and fades differ. The residual risk is a same-size
 * file with an identical mtime, inode, head and tail but a different middle:
 * `lts train` documents that `--no-cache`-style deletion of the cache folder
 * fixes it.
 *
 * **Entry format** (little-endian): 8-byte magic `LTSFCAC1`, uint32 length N of
 * a UTF-8 JSON header, the header, zero padding to a multiple of 4 bytes, then
 * `frames * bins` float32 magnitudes, frame-major. The header holds the cache
 * format version, the audio path, the analysis hash, the fingerprint, the
 * shape and the SHA-256 of the float data. An entry that fails any check
 * (wrong magic, bad JSON, other path/hash/fingerprint, wrong length, checksum
 * mismatch) is treated as a miss: it is re-analysed and overwritten, never
 * trusted. Entries are written atomically (temporary file + rename).
 *
 * **Leaving no trace.** The cache folder is created by the first entry written,
 * not before, so a run that writes nothing (a dataset without readable audio)
 * creates nothing. A run that refuses its dataset after analysing it calls
 * {@link FeatureCache.discard}, which removes the entries it wrote and the
 * folders it created.
 */
import { createHash } from 'node:crypto';
import { accessSync, statSync, constants as fsConstants } from 'node:fs';
import { open, readFile, rm, stat } from 'node:fs/promises';
import { makeFolders, removeEmptyFolders } from '../io/folders.ts';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Magnitudes } from '../dsp/types.ts';
import { writeFileAtomicAsync } from '../io/atomic.ts';

/** Magic bytes at the start of every cache entry. */
const MAGIC = 'LTSFCAC1';
/** Version of the entry layout; entries of another version are misses. */
const CACHE_FORMAT = 1;
/** Bytes hashed at each end of an audio file for its fingerprint. */
export const EDGE_BYTES = 64 * 1024;

/** What identifies the content of an audio file cheaply (see the module comment). */
export interface FileFingerprint {
  /** File size in bytes. */
  size: number;
  /** Modification time in milliseconds since the epoch. */
  mtimeMs: number;
  /** Inode number (0 on file systems without one). */
  ino: number;
  /** SHA-256 (hex) of the first and the last {@link EDGE_BYTES} bytes (the whole file when it is smaller than twice that). */
  edgeHash: string;
}

/**
 * Fingerprint an audio file: one `stat` and at most two 64 KiB reads.
 *
 * @param path File path.
 * @returns The fingerprint.
 */
export async function fingerprintFile(path: string): Promise<FileFingerprint> {
  const st = await stat(path);
  const h = createHash('sha256');
  const fh = await open(path, 'r');
  try {
    if (st.size <= 2 * EDGE_BYTES) {
      h.update(await fh.readFile());
    } else {
      const buf = Buffer.alloc(EDGE_BYTES);
      let n = (await fh.read(buf, 0, EDGE_BYTES, 0)).bytesRead;
      h.update(buf.subarray(0, n));
      n = (await fh.read(buf, 0, EDGE_BYTES, st.size - EDGE_BYTES)).bytesRead;
      h.update(buf.subarray(0, n));
    }
  } finally {
    await fh.close();
  }
  return { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, edgeHash: h.digest('hex') };
}

function sameFingerprint(a: FileFingerprint, b: unknown): boolean {
  if (b === null || typeof b !== 'object') return false;
  const o = b as Record<string, unknown>;
  return o.size === a.size && o.mtimeMs === a.mtimeMs && o.ino === a.ino && o.edgeHash === a.edgeHash;
}

/**
 * True when `dir` is a writable folder, or does not exist but can be created: its nearest existing
 * ancestor is a writable folder. Nothing is created.
 *
 * @param dir Folder path.
 */
export function canCreateDir(dir: string): boolean {
  let d = resolve(dir);
  for (;;) {
    let st;
    try {
      st = statSync(d);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') return false;
      const parent = dirname(d);
      if (parent === d) return false;
      d = parent;
      continue;
    }
    if (!st.isDirectory()) return false;
    try {
      accessSync(d, fsConstants.W_OK | fsConstants.X_OK);
      return true;
    } catch {
      return false;
    }
  }
}

/**
 * The user-level cache folder: `$XDG_CACHE_HOME/lts`, or `~/.cache/lts` when
 * `XDG_CACHE_HOME` is unset or not absolute (XDG Base Directory spec).
 */
export function userCacheDir(): string {
  const xdg = process.env.XDG_CACHE_HOME;
  return xdg && xdg.startsWith('/') ? join(xdg, 'lts') : join(homedir(), '.cache', 'lts');
}

/**
 * Choose the cache folder of a dataset: `<dataset>/.lts-cache/` when it can
 * be created and written (so the cache travels with the dataset and is
 * deleted with it), otherwise {@link userCacheDir} (read-only datasets).
 * Nothing is created here: {@link FeatureCache} creates the folder when it
 * writes the first entry.
 *
 * @param datasetDir The dataset folder.
 * @returns A writable folder, or one that can be created ({@link canCreateDir}), or null when neither can be written.
 */
export function defaultCacheDir(datasetDir: string): string | null {
  const local = join(resolve(datasetDir), '.lts-cache');
  if (canCreateDir(local)) return local;
  const user = userCacheDir();
  return canCreateDir(user) ? user : null;
}

/** Counters of one cache's use, for progress displays and tests. */
export interface CacheStats {
  /** Entries found valid and used. */
  hits: number;
  /** Lookups without a valid entry (absent, stale or corrupt). */
  misses: number;
  /** Entries that existed but were stale (fingerprint or analysis changed) or corrupt. */
  invalid: number;
  /** Entries written. */
  writes: number;
  /** Writes that failed (the cache is best-effort: a failed write never fails the run). */
  writeErrors: number;
}

/**
 * A folder of cached magnitude spectrograms (see the module comment for the
 * key and the entry format).
 */
export class FeatureCache {
  /** Absolute path of the cache folder. */
  readonly dir: string;
  /** Use counters since construction. */
  readonly stats: CacheStats = { hits: 0, misses: 0, invalid: 0, writes: 0, writeErrors: 0 };
  /** Entries written by this instance (absolute paths), for {@link discard}. */
  private readonly written = new Set<string>();
  /** The folders this instance created (the cache folder and missing ancestors), outermost first. */
  private created: string[] = [];

  /**
   * @param dir Cache folder; created (with parents) when the first entry is written, not before.
   */
  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  /**
   * Path of the entry for an audio file and analysis.
   *
   * @param audioPath The audio file (made absolute).
   * @param analysis {@link analysisHash} of the transform.
   */
  entryPath(audioPath: string, analysis: string): string {
    const key = createHash('sha256').update(`${resolve(audioPath)}\0${analysis}`).digest('hex').slice(0, 32);
    return join(this.dir, `${key}.ltsf`);
  }

  /**
   * Look up the magnitudes of `audioPath`.
   *
   * @param audioPath The audio file.
   * @param analysis {@link analysisHash} of the transform.
   * @param fingerprint The file's current {@link fingerprintFile}.
   * @returns The cached `[frames, bins]` magnitudes, or null on a miss (absent, stale or corrupt entry).
   */
  async get(audioPath: string, analysis: string, fingerprint: FileFingerprint): Promise<Magnitudes | null> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.entryPath(audioPath, analysis));
    } catch {
      this.stats.misses++;
      return null;
    }
    const mag = decodeEntry(bytes, resolve(audioPath), analysis, fingerprint);
    if (mag) this.stats.hits++;
    else {
      this.stats.misses++;
      this.stats.invalid++;
    }
    return mag;
  }

  /**
   * Store the magnitudes of `audioPath` (atomically; failures are counted, not thrown).
   *
   * @param audioPath The audio file.
   * @param analysis {@link analysisHash} of the transform.
   * @param fingerprint The fingerprint taken *before* the file was read, so a
   *   file modified during analysis is detected as stale next time.
   * @param mag `[frames, bins]` magnitudes.
   * @returns True when the entry was written.
   */
  async put(audioPath: string, analysis: string, fingerprint: FileFingerprint, mag: Magnitudes): Promise<boolean> {
    try {
      this.created.push(...makeFolders(this.dir));
      const path = this.entryPath(audioPath, analysis);
      await writeFileAtomicAsync(path, encodeEntry(resolve(audioPath), analysis, fingerprint, mag));
      this.written.add(path);
      this.stats.writes++;
      return true;
    } catch {
      this.stats.writeErrors++;
      return false;
    }
  }

  /**
   * Take back what this instance wrote: remove its entries, then the folders it created (from the
   * cache folder up to the outermost one it made) when they are empty. Entries it did not write are
   * kept (one it rewrote was stale, and goes). Best effort: failures are ignored (a leftover entry is
   * only a cache entry).
   */
  async discard(): Promise<void> {
    for (const path of this.written) await rm(path, { force: true }).catch(() => undefined);
    this.written.clear();
    removeEmptyFolders(this.created);
    this.created = [];
  }
}

/** Serialise one entry (format in the module comment). */
export function encodeEntry(path: string, analysis: string, fingerprint: FileFingerprint, mag: Magnitudes): Uint8Array {
  if (mag.data.length !== mag.frames * mag.bins) throw new RangeError('encodeEntry: data length is not frames * bins');
  const dataBytes = new Uint8Array(mag.data.buffer, mag.data.byteOffset, mag.data.byteLength);
  const header = Buffer.from(
    JSON.stringify({
      format: CACHE_FORMAT,
      path,
      analysis,
      fingerprint,
      frames: mag.frames,
      bins: mag.bins,
      sha256: createHash('sha256').update(dataBytes).digest('hex'),
    }),
    'utf8',
  );
  const dataOffset = align4(12 + header.length);
  const out = new Uint8Array(dataOffset + dataBytes.length);
  out.set(Buffer.from(MAGIC, 'latin1'), 0);
  new DataView(out.buffer).setUint32(8, header.length, true);
  out.set(header, 12);
  out.set(dataBytes, dataOffset);
  return out;
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

/** Parse and verify one entry; null when anything is off. */
function decodeEntry(bytes: Buffer, path: string, analysis: string, fingerprint: FileFingerprint): Magnitudes | null {
  if (bytes.length < 12 || bytes.toString('latin1', 0, 8) !== MAGIC) return null;
  const headerLength = bytes.readUInt32LE(8);
  if (12 + headerLength > bytes.length) return null;
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(bytes.toString('utf8', 12, 12 + headerLength)) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (header === null || typeof header !== 'object') return null;
  if (header.format !== CACHE_FORMAT || header.path !== path || header.analysis !== analysis) return null;
  if (!sameFingerprint(fingerprint, header.fingerprint)) return null;
  const { frames, bins } = header;
  if (!Number.isInteger(frames) || !Number.isInteger(bins) || (frames as number) < 0 || (bins as number) <= 0) return null;
  const dataOffset = align4(12 + headerLength);
  const n = (frames as number) * (bins as number);
  if (bytes.length !== dataOffset + 4 * n) return null;
  const dataBytes = bytes.subarray(dataOffset);
  if (createHash('sha256').update(dataBytes).digest('hex') !== header.sha256) return null;
  // Copy into a fresh, aligned buffer (the read Buffer may sit at any offset of a shared pool).
  const data = new Float32Array(n);
  new Uint8Array(data.buffer).set(dataBytes);
  for (let i = 0; i < n; i++) if (!(data[i] >= 0) || data[i] === Infinity) return null; // magnitudes are finite and >= 0
  return { frames: frames as number, bins: bins as number, data };
}
