/**
 * Reading audio files of any common format into mono float32 at a chosen rate.
 *
 * - WAV / RF64: this project's own parser ({@link parseWav}), which never
 *   trusts header sizes.
 * - AIFF / AIFF-C: this module's own reader (same robustness rules), sharing
 *   the sample decoding of `wav.ts`. (audio-decode 3.12 reads 8-bit AIFF as
 *   unsigned, which is wrong: AIFF 8-bit is signed.)
 * - FLAC, MP3, Ogg Vorbis, Ogg Opus: decoded with the `audio-decode` package
 *   (pure JavaScript / WebAssembly decoders, verified on Node 20).
 *
 * The format is detected from the file's first bytes, not its extension.
 * The header's sample rate is checked against
 * {@link MIN_SAMPLE_RATE}..{@link MAX_SAMPLE_RATE} before the samples are read.
 * While a compressed file is decoded, `console.error/warn/log` are captured
 * (the decoders print a line per damaged frame, which would corrupt the
 * terminal UI) and restored afterwards; they are counted for
 * {@link AudioData.warnings}.
 * Every failure is a one-line {@link AudioFileError} naming the file and what
 * to do about it; a damaged or cut-off file whose audio can still be decoded
 * is read, and the damage is reported in {@link AudioData.warnings}.
 * {@link probeAudio} reads only headers (plus, for MP3, the frame headers) to
 * report duration, rate and channel count without decoding.
 */
import { statSync, openSync, readSync, closeSync, readFileSync } from 'node:fs';
import { extname } from 'node:path';
import decode from 'audio-decode';
import { AudioFileError } from './errors.ts';
import {
  parseWav,
  readWavHeader,
  assertFinite,
  checkSampleRate,
  bytesSource,
  decodeInterleaved,
  MIN_SAMPLE_RATE,
  MAX_SAMPLE_RATE,
  MAX_SAMPLE_MAGNITUDE,
  type ByteSource,
  type SampleLayout,
} from './wav.ts';
import { resample } from '../dsp/resample.ts';

/** The limits every reader applies (defined in `wav.ts`), re-exported for callers of this module. */
export { MIN_SAMPLE_RATE, MAX_SAMPLE_RATE, MAX_SAMPLE_MAGNITUDE };

/** A decoded audio file, mixed to mono. */
export interface AudioData {
  /** Mono samples (the mean of all channels, or the chosen channel) at {@link AudioData.sampleRate}. */
  samples: Float32Array;
  /** Sample rate of `samples` in Hz: `opts.sampleRate` if given, else the file's rate. */
  sampleRate: number;
  /** Sample rate stored in the file, in Hz. */
  sourceSampleRate: number;
  /** Number of channels in the file (before mixing). */
  channels: number;
  /** Duration of `samples` in seconds (`samples.length / sampleRate`). */
  duration: number;
  /** Format description, e.g. `"WAV PCM 16-bit"`, `"FLAC"`, `"MP3"`, `"Ogg Vorbis"`, `"Ogg Opus"`. */
  format: string;
  /**
   * Problems that did not stop the reading, at most one line per file, empty
   * for a healthy file. Each is one line in the form of an
   * {@link AudioFileError} message: the path as given, a colon, what is wrong
   * (what the headers promise and what was decoded) and the fix. Reported:
   * - WAV/RF64/AIFF: the header announces more sample data than the file
   *   holds (`WavData.truncated`), e.g. `take.wav: the file is cut off: its
   *   header promises 2.00 s, it holds 1.00 s; using the 1.00 s that are there
   *   (re-export it, or rewrite it with: sox IN OUT.wav, to silence this)`;
   * - FLAC: fewer samples decoded than STREAMINFO's total (when it is known);
   * - MP3: fewer samples decoded than the Xing/Info header's frame count (less
   *   the LAME tag's delay and padding) or, without one, than the frame
   *   headers add up to, by more than two frames (the most that gapless
   *   trimming may differ between encoders); bytes between two frames that
   *   are not a frame; a last frame cut off by the end of the file;
   * - Ogg Vorbis/Opus: fewer samples decoded than the last page's granule
   *   position (less Opus pre-skip) announces;
   * - FLAC, MP3, Ogg: lines the decoder printed while decoding (mpg123 prints
   *   one per failed resynchronisation, e.g. over kilobytes of junk), counted,
   *   the first one quoted.
   * `readAudio` does not print them; the caller shows them to the user.
   */
  warnings: string[];
}

/** Options of {@link readAudio}. */
export interface ReadAudioOptions {
  /** Resample to this rate in Hz (band-limited, see `resample`); default: keep the file's rate. */
  sampleRate?: number;
  /**
   * `'mix'` (default): average all channels. A number: take only that channel
   * (0-based); an error names the valid range if the file has fewer channels.
   */
  channel?: 'mix' | number;
  /** Resampling quality, default `'best'`. */
  quality?: 'best' | 'fast';
}

/** Cheap facts about an audio file (see {@link probeAudio}). */
export interface AudioInfo {
  /**
   * Duration in seconds. For MP3 this counts the frames, less the encoder delay and padding recorded in a
   * LAME tag (as the gapless decoder removes them); without a LAME tag it includes them, as decoding does.
   */
  duration: number;
  /** Sample rate in Hz of the decoded audio (Ogg Opus always decodes at 48000). */
  sampleRate: number;
  /** Number of channels. */
  channels: number;
  /** Same strings as {@link AudioData.format}. */
  format: string;
}

/** File extensions (lower case, with the dot) that {@link readAudio} accepts. */
export const AUDIO_EXTENSIONS: readonly string[] = Object.freeze(['.wav', '.wave', '.rf64', '.aif', '.aiff', '.aifc', '.flac', '.mp3', '.ogg', '.oga', '.opus']);

/**
 * True if `path` has one of {@link AUDIO_EXTENSIONS} (case-insensitive).
 * Only looks at the name; use {@link probeAudio} to check the content.
 */
export function isAudioFile(path: string): boolean {
  return AUDIO_EXTENSIONS.includes(extname(path).toLowerCase());
}

type Kind = 'wav' | 'aiff' | 'flac' | 'mp3' | 'vorbis' | 'opus';
const KIND_NAMES: Record<Kind, string> = { wav: 'WAV', aiff: 'AIFF', flac: 'FLAC', mp3: 'MP3', vorbis: 'Ogg Vorbis', opus: 'Ogg Opus' };
const SUPPORTED = 'WAV, AIFF, FLAC, MP3, Ogg Vorbis or Ogg Opus';

/** Check that `path` names a non-empty regular file; returns its size. */
function checkFile(path: string): number {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new AudioFileError(path, 'file not found; check the path');
    if (code === 'EACCES' || code === 'EPERM') throw new AudioFileError(path, 'permission denied; make the file readable (chmod +r)');
    throw new AudioFileError(path, `cannot access the file (${code ?? String(e)}); check the path`);
  }
  if (st.isDirectory()) throw new AudioFileError(path, `is a directory; pass an audio file (${SUPPORTED})`);
  if (!st.isFile()) throw new AudioFileError(path, `is not a regular file; pass an audio file (${SUPPORTED})`);
  if (st.size === 0) throw new AudioFileError(path, `file is empty (0 bytes); pass a ${SUPPORTED} file that contains audio`);
  return st.size;
}

function readAll(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new AudioFileError(path, `cannot read the file (${(e as NodeJS.ErrnoException).code ?? String(e)}); check permissions`);
  }
}

/** A valid MPEG audio frame header at offset o? Returns its facts or null. */
function mpegFrame(b: Uint8Array, o: number): { length: number; samples: number; sampleRate: number; channels: number } | null {
  if (o + 4 > b.length || b[o] !== 0xff || (b[o + 1] & 0xe0) !== 0xe0) return null;
  const ver = (b[o + 1] >> 3) & 3; // 0: MPEG 2.5, 2: MPEG 2, 3: MPEG 1
  const layer = (b[o + 1] >> 1) & 3; // 1: III, 2: II, 3: I
  const brIdx = b[o + 2] >> 4;
  const srIdx = (b[o + 2] >> 2) & 3;
  if (ver === 1 || layer === 0 || brIdx === 0 || brIdx === 15 || srIdx === 3) return null;
  const pad = (b[o + 2] >> 1) & 1;
  const channels = b[o + 3] >> 6 === 3 ? 1 : 2;
  const sampleRate = [44100, 48000, 32000][srIdx] / (ver === 3 ? 1 : ver === 2 ? 2 : 4);
  const v1 = ver === 3;
  const BR: Record<string, number[]> = {
    '1-3': [0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448],
    '1-2': [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384],
    '1-1': [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
    '2-3': [0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256],
    '2-2': [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
  };
  const key = v1 ? `1-${layer}` : layer === 3 ? '2-3' : '2-2';
  const bitrate = BR[key][brIdx] * 1000;
  let length: number;
  let samples: number;
  if (layer === 3) {
    samples = 384;
    length = (Math.floor((12 * bitrate) / sampleRate) + pad) * 4;
  } else {
    samples = layer === 1 && !v1 ? 576 : 1152;
    length = Math.floor(((samples / 8) * bitrate) / sampleRate) + pad;
  }
  return length >= 4 ? { length, samples, sampleRate, channels } : null;
}

/**
 * First offset in [from, from + window] where an MPEG audio frame header is
 * followed by another one right after the frame (or by the end of the data),
 * or −1. Two consecutive headers make a false match on other data unlikely.
 */
function findMpegStart(b: Uint8Array, from: number, window: number): number {
  const last = Math.min(b.length - 4, from + window);
  for (let o = from; o <= last; o++) {
    const f = mpegFrame(b, o);
    if (f && (o + f.length + 4 > b.length || mpegFrame(b, o + f.length))) return o;
  }
  return -1;
}

/** Offset after an ID3v2 tag at the start (0 if none). */
function skipId3(b: Uint8Array): number {
  let o = 0;
  // Several tags may be stacked.
  while (o + 10 <= b.length && b[o] === 0x49 && b[o + 1] === 0x44 && b[o + 2] === 0x33) {
    const size = ((b[o + 6] & 0x7f) << 21) | ((b[o + 7] & 0x7f) << 14) | ((b[o + 8] & 0x7f) << 7) | (b[o + 9] & 0x7f);
    o += 10 + size + (b[o + 5] & 0x10 ? 10 : 0);
  }
  return o;
}

/** First packet of the first Ogg page (the codec identification header), or null. */
function oggFirstPacket(b: Uint8Array): Uint8Array | null {
  if (b.length < 28) return null;
  const nseg = b[26];
  const start = 27 + nseg;
  let len = 0;
  for (let i = 0; i < nseg; i++) {
    len += b[27 + i];
    if (b[27 + i] < 255) break;
  }
  if (start >= b.length) return null;
  return b.subarray(start, Math.min(b.length, start + len));
}

function startsWith(b: Uint8Array, o: number, s: string): boolean {
  if (o + s.length > b.length) return false;
  for (let i = 0; i < s.length; i++) if (b[o + i] !== s.charCodeAt(i)) return false;
  return true;
}

/** Identify the container/codec from the first bytes of a file. */
function detect(head: Uint8Array, path: string): Kind {
  if (startsWith(head, 0, 'RIFF') || startsWith(head, 0, 'RF64') || startsWith(head, 0, 'BW64') || startsWith(head, 0, 'RIFX')) return 'wav';
  if (startsWith(head, 0, 'fLaC')) return 'flac';
  if (startsWith(head, 0, 'FORM')) return 'aiff';
  if (startsWith(head, 0, 'OggS')) {
    const p = oggFirstPacket(head);
    if (p && startsWith(p, 0, '\x01vorbis')) return 'vorbis';
    if (p && startsWith(p, 0, 'OpusHead')) return 'opus';
    if (p && startsWith(p, 0, '\x7fFLAC')) throw new AudioFileError(path, 'FLAC inside Ogg is not supported; convert it with: sox IN OUT.flac');
    if (p && startsWith(p, 0, 'Speex')) throw new AudioFileError(path, 'Ogg Speex is not supported; convert it with: sox IN OUT.wav (or ffmpeg -i IN OUT.wav)');
    throw new AudioFileError(path, `Ogg file with an unknown or damaged codec header; pass a ${SUPPORTED} file`);
  }
  const id3 = skipId3(head);
  if (id3 > 0 && id3 >= head.length) return 'mp3'; // a tag larger than the probe window: only MP3 files start with ID3
  if (findMpegStart(head, id3, id3 > 0 ? 8192 : 0) >= 0) return 'mp3';
  if (startsWith(head, 4, 'ftyp')) throw new AudioFileError(path, 'MP4/M4A audio is not supported; convert it with: ffmpeg -i IN OUT.wav');
  throw new AudioFileError(path, `not an audio file (unrecognised header); pass a ${SUPPORTED} file`);
}

/** Open `path` for reading; returns the descriptor (the caller closes it). */
function openFile(path: string): number {
  try {
    return openSync(path, 'r');
  } catch (e) {
    throw new AudioFileError(path, `cannot open the file (${(e as NodeJS.ErrnoException).code ?? String(e)}); check permissions`);
  }
}

/** Reads a file on demand (for header probing). */
function fileSource(fd: number, size: number): ByteSource {
  return {
    size,
    read(offset: number, length: number): Uint8Array {
      const n = Math.max(0, Math.min(length, size - offset));
      const buf = new Uint8Array(n);
      let got = 0;
      while (got < n) {
        const r = readSync(fd, buf, got, n - got, offset + got);
        if (r === 0) break;
        got += r;
      }
      return got === n ? buf : buf.subarray(0, got);
    },
  };
}

function mixDown(chans: Float32Array[], channel: 'mix' | number, path: string): Float32Array {
  if (channel !== 'mix') {
    if (!Number.isInteger(channel) || channel < 0 || channel >= chans.length)
      throw new AudioFileError(path, `has ${chans.length} channel(s); choose channel 0..${chans.length - 1} or 'mix'`);
    return chans[channel].slice();
  }
  if (chans.length === 1) return chans[0];
  const n = chans[0].length;
  const out = new Float32Array(n);
  const g = 1 / chans.length;
  for (const c of chans) for (let i = 0; i < n; i++) out[i] += c[i];
  for (let i = 0; i < n; i++) out[i] *= g;
  return out;
}

/** What {@link decodeCompressed} returns. */
interface Decoded {
  /** Per-channel samples, all of the same length. */
  channels: Float32Array[];
  /** Sample rate reported by the decoder, in Hz (checked against the supported range). */
  sampleRate: number;
  /** How many lines the decoder printed (console.error/warn/log) while decoding. */
  noteCount: number;
  /** The first of those lines (at most 8 kept), each as printed. */
  notes: string[];
}

/**
 * Decode a FLAC/MP3/Ogg file with `audio-decode`, keeping the decoder's console output off the terminal.
 *
 * @param bytes The whole file.
 * @param kind Its codec (for messages).
 * @param path File path for messages.
 * @returns See {@link Decoded}.
 * @throws AudioFileError if nothing decodes, or the decoded rate is outside the supported range.
 */
async function decodeCompressed(bytes: Uint8Array, kind: Kind, path: string): Promise<Decoded> {
  let res: { channelData: Float32Array[]; sampleRate: number };
  // The WebAssembly decoders report damaged frames with console.error/warn; keep them off the terminal
  // (they would corrupt the Ink screen), use the first one to explain a failure, and count them for the warnings.
  const con = globalThis.console as unknown as Record<'error' | 'warn' | 'log', (...args: unknown[]) => void>;
  const saved = { error: con.error, warn: con.warn, log: con.log };
  const notes: string[] = [];
  let noteCount = 0;
  const capture = (...args: unknown[]) => {
    noteCount++;
    if (notes.length < 8) notes.push(args.map(String).join(' '));
  };
  con.error = con.warn = con.log = capture;
  try {
    res = await decode(bytes);
  } catch (e) {
    const msg = (e instanceof Error ? e.message : String(e)).split('\n')[0].slice(0, 120) + (notes.length ? `; ${notes[0].split('\n')[0].slice(0, 80)}` : '');
    throw new AudioFileError(path, `cannot decode ${KIND_NAMES[kind]} data (${msg}); the file is damaged or not really ${KIND_NAMES[kind]}, re-export it`, { cause: e });
  } finally {
    con.error = saved.error;
    con.warn = saved.warn;
    con.log = saved.log;
  }
  const channels = (res?.channelData ?? []).filter((c) => c instanceof Float32Array);
  const sampleRate = res?.sampleRate ?? 0;
  if (channels.length === 0 || channels[0].length === 0)
    throw new AudioFileError(path, `${KIND_NAMES[kind]} file contains no decodable audio (truncated, damaged or empty); re-export it`);
  checkSampleRate(sampleRate, path, `${KIND_NAMES[kind]} stream`, false);
  // Decoders may return channels of slightly different lengths at a truncated end: keep the common part.
  const n = Math.min(...channels.map((c) => c.length));
  return { channels: channels.map((c) => (c.length === n ? c : c.subarray(0, n))), sampleRate, noteCount, notes };
}

/** Seconds for a message: two decimals, or two significant digits below 0.1 s. */
function secs(s: number): string {
  return s >= 0.1 || s === 0 ? s.toFixed(2) : s.toPrecision(2);
}

/** The warning for a WAV/AIFF whose header announces `declared` frames of which `present` exist. */
function cutOffWarning(path: string, declared: number, present: number, rate: number): string {
  const have = secs(present / rate);
  return `${path}: the file is cut off: its header promises ${secs(declared / rate)} s, it holds ${have} s; using the ${have} s that are there (re-export it, or rewrite it with: sox IN OUT.wav, to silence this)`;
}

/**
 * The warning (or null) for a decoded FLAC/MP3/Ogg file: compares the decoded
 * length with what the headers announce (see {@link AudioData.warnings}) and
 * reports MP3 frame damage found by {@link scanMp3} and the decoder's notes.
 *
 * @param path File path for the message.
 * @param kind Codec.
 * @param d The decoder's output.
 * @param head What the headers say (from {@link inspectFile}, plus the MP3 scan).
 * @returns One line naming the file, every problem found and the fix; null for a healthy file.
 */
function damageWarning(path: string, kind: Kind, d: Decoded, head: HeaderFacts): string | null {
  const decoded = d.channels[0].length / d.sampleRate;
  const reasons: string[] = [];
  const short = (what: string, promised: number, slack: number) => {
    if (decoded < promised - slack) reasons.push(`${what} promises ${secs(promised)} s, only ${secs(decoded)} s could be decoded`);
  };
  if (kind === 'flac' && head.flac && head.flac.totalSamples > 0) {
    short('its header (STREAMINFO)', head.flac.totalSamples / head.flac.sampleRate, 0);
  } else if ((kind === 'vorbis' || kind === 'opus') && head.ogg && head.ogg.granule > head.ogg.preSkip) {
    short('its last page', (head.ogg.granule - head.ogg.preSkip) / head.ogg.sampleRate, 0);
  } else if (kind === 'mp3' && head.mp3) {
    const m = head.mp3;
    const spf = m.first.samples;
    const whole = m.xingFrames >= 0 ? m.xingFrames * spf : m.samples;
    const promised = (m.trim < whole ? whole - m.trim : whole) / m.first.sampleRate;
    short(m.xingFrames >= 0 ? 'its Xing header' : 'its frame headers', promised, (2 * spf) / m.first.sampleRate);
    if (m.junkBytes > 0) reasons.push(`${m.junkBytes} bytes between frames are not MP3 frames`);
    if (m.cutLast) reasons.push('its last frame is cut off');
  }
  if (d.noteCount > 0) {
    const first = d.notes[0].replace(/\s+/g, ' ').trim().slice(0, 80);
    reasons.push(`the decoder reported ${d.noteCount} error${d.noteCount === 1 ? '' : 's'} (first: "${first}")`);
  }
  if (reasons.length === 0) return null;
  return `${path}: the ${KIND_NAMES[kind]} data is damaged or cut off: ${reasons.join(', ')}; using the ${secs(decoded)} s that decoded (re-export it to silence this)`;
}

/**
 * Read an audio file as mono float32, optionally resampled.
 *
 * @param path File path. Format detected from content: WAV (PCM 8/16/24/32,
 *   float 32/64, A-law, µ-law, extensible, RF64), AIFF/AIFF-C (PCM 8..32,
 *   little-endian 'sowt', float 32/64, A-law, µ-law), FLAC, MP3, Ogg Vorbis, Ogg Opus.
 * @param opts.sampleRate Target rate in Hz (default: the file's rate); uses the
 *   band-limited Kaiser-sinc resampler of `src/dsp/resample.ts`.
 * @param opts.channel `'mix'` (default, mean of all channels) or a 0-based channel index.
 * @param opts.quality Resampling quality, `'best'` (default) or `'fast'`.
 * @returns See {@link AudioData}. A header that promises more data than the
 *   file has, or damaged compressed data, is accepted: the samples that exist
 *   or decode are returned and {@link AudioData.warnings} says what is missing.
 * @throws AudioFileError (one line, naming the file and the fix) for a missing
 *   file, a directory, an empty file, a truncated header, non-audio content,
 *   an unsupported encoding, 0 channels, a sample rate outside
 *   {@link MIN_SAMPLE_RATE}..{@link MAX_SAMPLE_RATE} (checked on the headers
 *   before the file is read whole or decoded), no audio samples,
 *   NaN/infinite samples or samples beyond ±{@link MAX_SAMPLE_MAGNITUDE} (see
 *   `assertFinite`), or a resampled length over 2^31 samples.
 * @throws RangeError for an invalid `opts.sampleRate`.
 */
export async function readAudio(path: string, opts: ReadAudioOptions = {}): Promise<AudioData> {
  const target = opts.sampleRate;
  if (target !== undefined && (!(target > 0) || !Number.isFinite(target)))
    throw new RangeError(`readAudio: sampleRate must be a positive number of Hz, got ${target}`);
  const size = checkFile(path);
  // Headers first (sample rate, FLAC STREAMINFO, Ogg identification header), before the file is read whole.
  const { kind, head } = inspectFile(path, size);
  const bytes = readAll(path);
  const warnings: string[] = [];
  let chans: Float32Array[];
  let rate: number;
  let format: string;
  if (kind === 'wav' || kind === 'aiff') {
    const w = kind === 'wav' ? parseWav(bytes, path) : parseAiff(bytes, path);
    chans = w.channels;
    rate = w.sampleRate;
    format = w.format;
    if (w.truncated) warnings.push(cutOffWarning(path, w.declaredFrames, chans[0].length, rate));
  } else {
    if (kind === 'mp3') head.mp3 = scanMp3(bytes) ?? undefined;
    const d = await decodeCompressed(bytes, kind, path);
    chans = d.channels;
    rate = d.sampleRate;
    format = KIND_NAMES[kind];
    assertFinite(chans, rate, path);
    if (kind === 'flac' && head.flac) flacRescale(chans, head.flac.bitsPerSample);
    const w = damageWarning(path, kind, d, head);
    if (w) warnings.push(w);
  }
  if (chans[0].length === 0) throw new AudioFileError(path, `${format} file contains no audio samples; pass a file that contains sound`);
  const mono = mixDown(chans, opts.channel ?? 'mix', path);
  const outRate = target ?? rate;
  const outLen = (mono.length * outRate) / rate;
  if (outLen > 2 ** 31)
    throw new AudioFileError(
      path,
      `is too long to resample from ${rate} Hz to ${outRate} Hz (${mono.length} samples would become ${Math.round(outLen)}, over 2^31); split it into shorter files, e.g. sox IN OUT.wav trim 0 600`,
    );
  const samples = outRate === rate ? mono : resample(mono, rate, outRate, { quality: opts.quality ?? 'best' });
  return { samples, sampleRate: outRate, sourceSampleRate: rate, channels: chans.length, duration: samples.length / outRate, format, warnings };
}

/** Header facts gathered before decoding (see {@link inspectFile}). */
interface HeaderFacts {
  /** FLAC STREAMINFO. */
  flac?: FlacStreamInfo;
  /** Ogg identification header and last granule position. */
  ogg?: OggInfo;
  /** MP3 frame walk ({@link scanMp3}); filled in by {@link readAudio} once the bytes are read. */
  mp3?: Mp3Scan;
}

/**
 * Detect the format of a file and check its headers without reading the
 * samples: WAV/RF64 and AIFF chunk headers, FLAC STREAMINFO, the Ogg
 * identification header (and last page). Each checks the sample rate
 * ({@link checkSampleRate}); MP3 rates come from a fixed table (8..48 kHz).
 *
 * @param path File path (already checked by {@link checkFile}).
 * @param size Its size in bytes.
 * @returns The codec and the header facts that the warnings compare against.
 * @throws AudioFileError for unreadable, non-audio or damaged headers and unsupported rates.
 */
function inspectFile(path: string, size: number): { kind: Kind; head: HeaderFacts } {
  const fd = openFile(path);
  try {
    const src = fileSource(fd, size);
    const kind = detect(src.read(0, 65536), path);
    const head: HeaderFacts = {};
    if (kind === 'wav') readWavHeader(src, path);
    else if (kind === 'aiff') readAiffHeader(src, path);
    else if (kind === 'flac') head.flac = flacStreamInfo(src, path);
    else if (kind === 'vorbis' || kind === 'opus') head.ogg = oggInfo(src, kind, path);
    return { kind, head };
  } finally {
    closeSync(fd);
  }
}

/** Header facts of an AIFF / AIFF-C file (see {@link readAiffHeader}). */
interface AiffHeader extends SampleLayout {
  sampleRate: number;
  format: string;
  /** True if COMM announces more sample frames than the file holds. */
  truncated: boolean;
  /** Sample frames COMM announces (numSampleFrames). */
  declaredFrames: number;
}

/** IEEE 754 80-bit extended float (big-endian), as AIFF stores the sample rate. */
function extended80(b: Uint8Array, o: number): number {
  const exp = ((b[o] & 0x7f) << 8) | b[o + 1];
  const hi = ((b[o + 2] << 24) >>> 0) + (b[o + 3] << 16) + (b[o + 4] << 8) + b[o + 5];
  const lo = ((b[o + 6] << 24) >>> 0) + (b[o + 7] << 16) + (b[o + 8] << 8) + b[o + 9];
  if (exp === 0x7fff) return NaN;
  const v = (hi * 0x100000000 + lo) * Math.pow(2, exp - 16383 - 63);
  return b[o] & 0x80 ? -v : v;
}

function be32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) >>> 0) + (b[o + 1] << 16) + (b[o + 2] << 8) + b[o + 3];
}

/**
 * AIFF (Apple, "Audio Interchange File Format" 1.3, 1989) and AIFF-C: walks
 * the chunks (sizes not trusted, like the WAV reader), reads COMM and locates
 * SSND. Supports big-endian PCM 8 (signed) to 32 bits ('NONE', 'twos',
 * 'in24', 'in32'), little-endian PCM ('sowt'), float 32/64 ('fl32', 'fl64'),
 * 8-bit offset binary ('raw '), A-law and µ-law.
 */
function readAiffHeader(src: ByteSource, name: string): AiffHeader {
  const fail = (problem: string): never => {
    throw new AudioFileError(name, problem);
  };
  const head = src.read(0, 12);
  if (head.length < 12) return fail(`truncated AIFF header (${src.size} bytes, need at least 12); the file is damaged, re-export it`);
  const kind = String.fromCharCode(head[8], head[9], head[10], head[11]);
  if (kind !== 'AIFF' && kind !== 'AIFC') return fail(`IFF file of type "${kind.replace(/[^\x20-\x7e]/g, '?')}" is not AIFF audio; pass a ${SUPPORTED} file`);
  let comm: Uint8Array | undefined;
  let ssnd = -1;
  let ssndClaimed = 0;
  let pos = 12;
  while (pos + 8 <= src.size) {
    const h = src.read(pos, 8);
    const id = String.fromCharCode(h[0], h[1], h[2], h[3]);
    const size = be32(h, 4);
    if (id === 'COMM') comm = src.read(pos + 8, Math.min(size, 64)).slice();
    else if (id === 'SSND' && ssnd < 0) {
      const off = src.read(pos + 8, 4);
      const dataOffset = off.length === 4 ? be32(off, 0) : 0;
      ssnd = pos + 16 + dataOffset;
      ssndClaimed = Math.max(0, size - 8 - dataOffset);
      if (comm) break;
    } else if (!/^[\x20-\x7e]{4}$/.test(id)) break;
    pos += 8 + size + (size & 1);
  }
  if (!comm) return fail('AIFF file has no COMM chunk (header damaged or truncated); re-export the file');
  if (comm.length < 18) return fail(`AIFF COMM chunk is truncated (${comm.length} of 18 bytes); re-export the file`);
  const channels = (comm[0] << 8) | comm[1];
  const declaredFrames = be32(comm, 2);
  const bits = (comm[6] << 8) | comm[7];
  const sampleRate = extended80(comm, 8);
  if (channels === 0) fail('AIFF header says 0 channels; the file is damaged, re-export it');
  checkSampleRate(sampleRate, name, 'AIFF header', true);
  let comp = 'NONE';
  if (kind === 'AIFC') {
    if (comm.length < 22) fail('AIFF-C COMM chunk has no compression type (truncated); re-export the file');
    comp = String.fromCharCode(comm[18], comm[19], comm[20], comm[21]);
  }
  const c = comp.toLowerCase();
  let encoding: SampleLayout['encoding'] = 'pcm';
  let bytesPerSample = Math.ceil(bits / 8);
  let bigEndian = true;
  let signed8 = true;
  let desc: string;
  if (c === 'none' || c === 'twos' || c === 'in24' || c === 'in32' || c === 'sowt' || c === 'raw ') {
    if (c === 'in24') bytesPerSample = 3;
    if (c === 'in32') bytesPerSample = 4;
    if (c === 'sowt') bigEndian = false;
    if (c === 'raw ') { bytesPerSample = 1; signed8 = false; }
    if (bytesPerSample < 1 || bytesPerSample > 4) fail(`unsupported AIFF sample size ${bits} bits; convert it with: sox IN -b 16 OUT.wav`);
    desc = `PCM ${c === 'raw ' ? 8 : bits}-bit${c === 'sowt' ? ' little-endian' : ''}`;
  } else if (c === 'fl32' || c === 'fl64') {
    encoding = 'float';
    bytesPerSample = c === 'fl32' ? 4 : 8;
    desc = `float ${bytesPerSample * 8}-bit`;
  } else if (c === 'ulaw' || c === 'alaw') {
    encoding = c === 'ulaw' ? 'mulaw' : 'alaw';
    bytesPerSample = 1;
    desc = c === 'ulaw' ? 'mu-law 8-bit' : 'A-law 8-bit';
  } else {
    return fail(`unsupported AIFF-C compression "${comp.replace(/[^\x20-\x7e]/g, '?')}"; convert it with: sox IN -b 16 OUT.wav`);
  }
  if (ssnd < 0) fail('AIFF file has no SSND chunk (no audio); re-export the file');
  const frameBytes = bytesPerSample * channels;
  const available = Math.max(0, src.size - ssnd);
  const present = Math.min(ssndClaimed, available);
  const frames = Math.min(declaredFrames, Math.floor(present / frameBytes));
  return {
    sampleRate,
    channels,
    frames,
    format: `${kind === 'AIFC' ? 'AIFF-C' : 'AIFF'} ${desc}`,
    dataOffset: ssnd,
    encoding,
    bytesPerSample,
    bigEndian,
    signed8,
    truncated: declaredFrames * frameBytes > available,
    declaredFrames,
  };
}

function parseAiff(bytes: Uint8Array, name: string): { channels: Float32Array[]; sampleRate: number; format: string; truncated: boolean; declaredFrames: number } {
  const h = readAiffHeader(bytesSource(bytes), name);
  if (h.frames === 0) throw new AudioFileError(name, 'AIFF file contains no audio samples (empty or cut-off SSND chunk); pass a file that contains sound');
  const channels = decodeInterleaved(bytes, h);
  if (h.encoding === 'float') assertFinite(channels, h.sampleRate, name);
  return { channels, sampleRate: h.sampleRate, format: h.format, truncated: h.truncated, declaredFrames: h.declaredFrames };
}

/** Facts of a FLAC STREAMINFO block (always the first metadata block, right after "fLaC"). */
interface FlacStreamInfo {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  /** Total samples per channel; 0 means "unknown". */
  totalSamples: number;
}

function flacStreamInfo(src: ByteSource, path: string): FlacStreamInfo {
  const b = src.read(4, 38);
  if (b.length < 38 || (b[0] & 0x7f) !== 0) throw new AudioFileError(path, 'FLAC file without a STREAMINFO block (header damaged or truncated); re-export it');
  const s = b.subarray(4);
  const sampleRate = (s[10] << 12) | (s[11] << 4) | (s[12] >> 4);
  const channels = ((s[12] >> 1) & 7) + 1;
  const bitsPerSample = (((s[12] & 1) << 4) | (s[13] >> 4)) + 1;
  const totalSamples = (s[13] & 0x0f) * 0x100000000 + ((s[14] << 24) >>> 0) + (s[15] << 16) + (s[16] << 8) + s[17];
  checkSampleRate(sampleRate, path, 'FLAC header (STREAMINFO)', false);
  return { sampleRate, channels, bitsPerSample, totalSamples };
}

/**
 * The FLAC decoder scales integers by 1 / (2^(b−1) − 1); rescale to this
 * project's convention 1 / 2^(b−1) (as for WAV), which restores the exact
 * integer values: FLAC and WAV of the same PCM then decode identically.
 */
function flacRescale(chans: Float32Array[], bits: number): void {
  if (bits < 2 || bits > 24) return;
  const full = 2 ** (bits - 1);
  const dec = full - 1;
  for (const c of chans) for (let i = 0; i < c.length; i++) c[i] = Math.round(c[i] * dec) / full;
}

function probeFlac(src: ByteSource, path: string): AudioInfo | null {
  const si = flacStreamInfo(src, path);
  if (si.totalSamples === 0) return null; // length unknown: the caller decodes
  return { duration: si.totalSamples / si.sampleRate, sampleRate: si.sampleRate, channels: si.channels, format: 'FLAC' };
}

/** Facts of an Ogg Vorbis / Opus stream (see {@link oggInfo}). */
interface OggInfo {
  /** Decoded sample rate in Hz (Opus: always 48000). */
  sampleRate: number;
  /** Channel count from the identification header. */
  channels: number;
  /** Samples the decoder drops at the start (Opus pre-skip; 0 for Vorbis). */
  preSkip: number;
  /** Granule position of the stream's last page found in the last 64 KiB, −1 if none. */
  granule: number;
}

/**
 * Ogg Vorbis / Opus: rate and channels from the identification header (the
 * Vorbis rate is checked, {@link checkSampleRate}), and the granule position
 * (samples up to the end) of the last page of the same stream.
 */
function oggInfo(src: ByteSource, kind: 'vorbis' | 'opus', path: string): OggInfo {
  const head = src.read(0, 512);
  const p = oggFirstPacket(head);
  const serial = head[14] | (head[15] << 8) | (head[16] << 16) | (head[17] << 24);
  let sampleRate: number;
  let channels: number;
  let preSkip = 0;
  if (kind === 'vorbis') {
    if (!p || p.length < 16) throw new AudioFileError(path, 'Ogg Vorbis identification header is truncated; re-export the file');
    channels = p[11];
    sampleRate = (p[12] | (p[13] << 8) | (p[14] << 16) | (p[15] << 24)) >>> 0;
  } else {
    if (!p || p.length < 12) throw new AudioFileError(path, 'Ogg Opus identification header is truncated; re-export the file');
    channels = p[9];
    preSkip = p[10] | (p[11] << 8);
    sampleRate = 48000; // Opus always decodes at 48 kHz
  }
  if (channels === 0) throw new AudioFileError(path, `${KIND_NAMES[kind]} header says 0 channels; the file is damaged, re-export it`);
  checkSampleRate(sampleRate, path, `${KIND_NAMES[kind]} header`, false);
  const tailLen = Math.min(src.size, 65536);
  const tail = src.read(src.size - tailLen, tailLen);
  let granule = -1;
  for (let o = tail.length - 27; o >= 0; o--) {
    if (tail[o] === 0x4f && startsWith(tail, o, 'OggS') && (tail[o + 14] | (tail[o + 15] << 8) | (tail[o + 16] << 16) | (tail[o + 17] << 24)) === serial) {
      const lo = (tail[o + 6] | (tail[o + 7] << 8) | (tail[o + 8] << 16) | (tail[o + 9] << 24)) >>> 0;
      const hi = (tail[o + 10] | (tail[o + 11] << 8) | (tail[o + 12] << 16) | (tail[o + 13] << 24)) >>> 0;
      if (hi !== 0xffffffff) {
        granule = hi * 0x100000000 + lo;
        break;
      }
    }
  }
  return { sampleRate, channels, preSkip, granule };
}

/** Ogg Vorbis / Opus: length from the last page's granule position (see {@link oggInfo}). */
function probeOgg(src: ByteSource, kind: 'vorbis' | 'opus', path: string): AudioInfo {
  const { sampleRate, channels, preSkip, granule } = oggInfo(src, kind, path);
  if (granule <= preSkip) throw new AudioFileError(path, `${KIND_NAMES[kind]} file contains no audio pages (truncated or empty); re-export it`);
  return { duration: (granule - preSkip) / sampleRate, sampleRate, channels, format: KIND_NAMES[kind] };
}

/** What a walk over an MP3 file's frame headers found (see {@link scanMp3}). */
interface Mp3Scan {
  /** The first frame header (which may be the Xing/Info/VBRI frame). */
  first: NonNullable<ReturnType<typeof mpegFrame>>;
  /** Audio frames walked (a Xing/Info/VBRI frame at the start excluded). */
  frames: number;
  /** Their samples per channel. */
  samples: number;
  /** Encoder delay plus padding from a LAME tag (removed by the gapless decoder), 0 without one. */
  trim: number;
  /** Audio frame count stored in a Xing/Info header, −1 if there is none. */
  xingFrames: number;
  /** Bytes between two frames that are not a frame (damage), not counting junk before the first frame or after the last. */
  junkBytes: number;
  /** True if the last frame runs past the end of the file. */
  cutLast: boolean;
}

/**
 * Walk the MPEG audio frame headers of a whole MP3 file (no decoding),
 * resynchronising byte by byte over damage, and stopping at a trailing tag.
 *
 * @param bytes The whole file.
 * @returns See {@link Mp3Scan}, or null if no frame was found.
 */
function scanMp3(bytes: Uint8Array): Mp3Scan | null {
  let o = skipId3(bytes);
  let first: ReturnType<typeof mpegFrame> = null;
  let samples = 0;
  let frames = 0;
  let trim = 0;
  let xingFrames = -1;
  let junkBytes = 0;
  let pending = 0; // junk bytes since the last frame, counted once another frame follows
  let cutLast = false;
  while (o + 4 <= bytes.length) {
    const f = mpegFrame(bytes, o);
    if (!f || (first && f.sampleRate !== first.sampleRate)) {
      if (frames > 0 && (startsWith(bytes, o, 'TAG') || startsWith(bytes, o, 'APETAGEX') || startsWith(bytes, o, 'LYRICS'))) break;
      if (first) pending++;
      o++; // resynchronise on the next frame header
      continue;
    }
    junkBytes += pending;
    pending = 0;
    if (!first) {
      first = f;
      // A Xing/Info/VBRI frame at the start is metadata, not audio: decoders skip it.
      const side = f.samples === 384 ? 0 : f.samples === 1152 ? (f.channels === 1 ? 17 : 32) : f.channels === 1 ? 9 : 17;
      const x = o + 4 + side;
      if (startsWith(bytes, x, 'Xing') || startsWith(bytes, x, 'Info')) {
        // Xing header: flags, then optional frames (1), bytes (2), TOC (4), quality (8); a LAME tag may follow,
        // whose bytes 21..23 hold the encoder delay and padding (12 bits each), which gapless decoders remove.
        const flags = x + 8 <= bytes.length ? bytes[x + 7] : 0;
        let lame = x + 8;
        if (flags & 1) {
          if (lame + 4 <= bytes.length) xingFrames = ((bytes[lame] << 24) >>> 0) + (bytes[lame + 1] << 16) + (bytes[lame + 2] << 8) + bytes[lame + 3];
          lame += 4;
        }
        if (flags & 2) lame += 4;
        if (flags & 4) lame += 100;
        if (flags & 8) lame += 4;
        if (startsWith(bytes, lame, 'LAME') && lame + 24 <= bytes.length) {
          const d = bytes.subarray(lame + 21, lame + 24);
          trim = ((d[0] << 4) | (d[1] >> 4)) + (((d[1] & 0x0f) << 8) | d[2]);
        }
        o += f.length;
        continue;
      }
      if (startsWith(bytes, o + 36, 'VBRI')) {
        o += f.length;
        continue;
      }
    }
    if (o + f.length > bytes.length) cutLast = true;
    if (o + f.length > bytes.length + f.length / 2) break; // a last frame cut by more than half is not decodable
    samples += f.samples;
    frames++;
    o += f.length;
  }
  return first ? { first, frames, samples, trim, xingFrames, junkBytes, cutLast } : null;
}

/** MP3: walk the frame headers (no decoding) and count samples. */
function probeMp3(bytes: Uint8Array, path: string): AudioInfo {
  const m = scanMp3(bytes);
  if (!m || m.frames === 0) throw new AudioFileError(path, 'MP3 file without any complete audio frame; re-export the file');
  const samples = m.trim < m.samples ? m.samples - m.trim : m.samples;
  return { duration: samples / m.first.sampleRate, sampleRate: m.first.sampleRate, channels: m.first.channels, format: 'MP3' };
}

/**
 * Report an audio file's duration, sample rate, channel count and format
 * without decoding it: WAV/RF64 from the chunk headers (the samples are not
 * read), AIFF from COMM/SSND, FLAC from STREAMINFO, Ogg from the identification header and the
 * last page's granule position, MP3 by walking the frame headers.
 *
 * @param path File path.
 * @returns See {@link AudioInfo}. For WAV files whose header promises more
 *   data than exists, the duration of the data actually present.
 * @throws AudioFileError on the same conditions as {@link readAudio},
 *   including a sample rate outside {@link MIN_SAMPLE_RATE}..{@link MAX_SAMPLE_RATE}
 *   (except NaN, infinite or out-of-range samples, which are only found by decoding).
 */
export async function probeAudio(path: string): Promise<AudioInfo> {
  const size = checkFile(path);
  const fd = openFile(path);
  try {
    const src = fileSource(fd, size);
    const head = src.read(0, 65536);
    const kind = detect(head, path);
    if (kind === 'wav' || kind === 'aiff') {
      const h = kind === 'wav' ? readWavHeader(src, path) : readAiffHeader(src, path);
      if (h.frames === 0) throw new AudioFileError(path, `${KIND_NAMES[kind]} file contains no audio samples (empty or cut-off data chunk); pass a file that contains sound`);
      return { duration: h.frames / h.sampleRate, sampleRate: h.sampleRate, channels: h.channels, format: h.format };
    }
    if (kind === 'flac') {
      const info = probeFlac(src, path);
      if (info) return info;
    } else if (kind === 'vorbis' || kind === 'opus') {
      return probeOgg(src, kind, path);
    } else {
      return probeMp3(readAll(path), path);
    }
  } finally {
    closeSync(fd);
  }
  // FLAC without a stored length: decode to measure.
  const a = await readAudio(path);
  return { duration: a.duration, sampleRate: a.sampleRate, channels: a.channels, format: a.format };
}
