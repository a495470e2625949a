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
 * While a compressed file is decoded, `console.error/warn/log` are captured
 * (the decoders print a line per damaged frame, which would corrupt the
 * terminal UI) and restored afterwards.
 * Every failure is a one-line {@link AudioFileError} naming the file and what
 * to do about it. {@link probeAudio} reads only headers (plus, for MP3, the
 * frame headers) to report duration, rate and channel count without decoding.
 */
import { statSync, openSync, readSync, closeSync, readFileSync } from 'node:fs';
import { extname } from 'node:path';
import decode from 'audio-decode';
import { AudioFileError } from './errors.ts';
import { parseWav, readWavHeader, assertFinite, bytesSource, decodeInterleaved, type ByteSource, type SampleLayout } from './wav.ts';
import { resample } from '../dsp/resample.ts';

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

async function decodeCompressed(bytes: Uint8Array, kind: Kind, path: string): Promise<{ channels: Float32Array[]; sampleRate: number }> {
  let res: { channelData: Float32Array[]; sampleRate: number };
  // The WebAssembly decoders report damaged frames with console.error/warn; keep them off the terminal
  // (they would corrupt the Ink screen) and use the first one to explain a failure.
  const con = globalThis.console as unknown as Record<'error' | 'warn' | 'log', (...args: unknown[]) => void>;
  const saved = { error: con.error, warn: con.warn, log: con.log };
  const notes: string[] = [];
  const capture = (...args: unknown[]) => { if (notes.length < 8) notes.push(args.map(String).join(' ')); };
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
  if (!(sampleRate > 0)) throw new AudioFileError(path, `${KIND_NAMES[kind]} stream has sample rate 0; the file is damaged, re-export it`);
  // Decoders may return channels of slightly different lengths at a truncated end: keep the common part.
  const n = Math.min(...channels.map((c) => c.length));
  return { channels: channels.map((c) => (c.length === n ? c : c.subarray(0, n))), sampleRate };
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
 * @returns See {@link AudioData}.
 * @throws AudioFileError (one line, naming the file and the fix) for a missing
 *   file, a directory, an empty file, a truncated header, non-audio content,
 *   an unsupported encoding, 0 channels, sample rate 0, no audio samples, or
 *   NaN/infinite samples. A header that promises more data than the file has
 *   is accepted: the samples present are returned.
 * @throws RangeError for an invalid `opts.sampleRate`.
 */
export async function readAudio(path: string, opts: ReadAudioOptions = {}): Promise<AudioData> {
  const target = opts.sampleRate;
  if (target !== undefined && (!(target > 0) || !Number.isFinite(target)))
    throw new RangeError(`readAudio: sampleRate must be a positive number of Hz, got ${target}`);
  checkFile(path);
  const bytes = readAll(path);
  const kind = detect(bytes.subarray(0, 65536), path);
  let chans: Float32Array[];
  let rate: number;
  let format: string;
  if (kind === 'wav' || kind === 'aiff') {
    const w = kind === 'wav' ? parseWav(bytes, path) : parseAiff(bytes, path);
    chans = w.channels;
    rate = w.sampleRate;
    format = w.format;
  } else {
    const d = await decodeCompressed(bytes, kind, path);
    chans = d.channels;
    rate = d.sampleRate;
    format = KIND_NAMES[kind];
    assertFinite(chans, rate, path);
    if (kind === 'flac') flacRescale(chans, flacStreamInfo(bytesSource(bytes), path).bitsPerSample);
  }
  if (chans[0].length === 0) throw new AudioFileError(path, `${format} file contains no audio samples; pass a file that contains sound`);
  const mono = mixDown(chans, opts.channel ?? 'mix', path);
  const outRate = target ?? rate;
  const outLen = (mono.length * outRate) / rate;
  if (outLen > 2 ** 31)
    throw new AudioFileError(path, `resampling ${mono.length} samples from ${rate} Hz to ${outRate} Hz would give ${Math.round(outLen)} samples; the file's sample rate is implausible, fix it with: sox -r RATE IN OUT.wav`);
  const samples = outRate === rate ? mono : resample(mono, rate, outRate, { quality: opts.quality ?? 'best' });
  return { samples, sampleRate: outRate, sourceSampleRate: rate, channels: chans.length, duration: samples.length / outRate, format };
}

/** Header facts of an AIFF / AIFF-C file (see {@link readAiffHeader}). */
interface AiffHeader extends SampleLayout {
  sampleRate: number;
  format: string;
  truncated: boolean;
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
  if (!(sampleRate >= 1 && sampleRate <= 1e7)) fail(`AIFF header says sample rate ${sampleRate} Hz; the file is damaged, re-export it`);
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
  };
}

function parseAiff(bytes: Uint8Array, name: string): { channels: Float32Array[]; sampleRate: number; format: string } {
  const h = readAiffHeader(bytesSource(bytes), name);
  if (h.frames === 0) throw new AudioFileError(name, 'AIFF file contains no audio samples (empty or cut-off SSND chunk); pass a file that contains sound');
  const channels = decodeInterleaved(bytes, h);
  if (h.encoding === 'float') assertFinite(channels, h.sampleRate, name);
  return { channels, sampleRate: h.sampleRate, format: h.format };
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
  if (sampleRate === 0) throw new AudioFileError(path, 'FLAC header says sample rate 0 Hz; the file is damaged, re-export it');
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

/** Ogg Vorbis / Opus: rate and channels from the identification header, length from the last page's granule position. */
function probeOgg(src: ByteSource, kind: 'vorbis' | 'opus', path: string): AudioInfo {
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
  if (sampleRate === 0) throw new AudioFileError(path, `${KIND_NAMES[kind]} header says sample rate 0 Hz; the file is damaged, re-export it`);
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
  if (granule <= preSkip) throw new AudioFileError(path, `${KIND_NAMES[kind]} file contains no audio pages (truncated or empty); re-export it`);
  return { duration: (granule - preSkip) / sampleRate, sampleRate, channels, format: KIND_NAMES[kind] };
}

/** MP3: walk the frame headers (no decoding) and count samples. */
function probeMp3(bytes: Uint8Array, path: string): AudioInfo {
  let o = skipId3(bytes);
  let first: ReturnType<typeof mpegFrame> = null;
  let samples = 0;
  let frames = 0;
  let trim = 0;
  while (o + 4 <= bytes.length) {
    const f = mpegFrame(bytes, o);
    if (!f || (first && f.sampleRate !== first.sampleRate)) {
      if (frames > 0 && (startsWith(bytes, o, 'TAG') || startsWith(bytes, o, 'APETAGEX') || startsWith(bytes, o, 'LYRICS'))) break;
      o++; // resynchronise on the next frame header
      continue;
    }
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
        if (flags & 1) lame += 4;
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
    if (o + f.length > bytes.length + f.length / 2) break; // a last frame cut by more than half is not decodable
    samples += f.samples;
    frames++;
    o += f.length;
  }
  if (!first || frames === 0) throw new AudioFileError(path, 'MP3 file without any complete audio frame; re-export the file');
  if (trim < samples) samples -= trim;
  return { duration: samples / first.sampleRate, sampleRate: first.sampleRate, channels: first.channels, format: 'MP3' };
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
 * @throws AudioFileError on the same conditions as {@link readAudio}
 *   (except NaN samples, which are only found by decoding).
 */
export async function probeAudio(path: string): Promise<AudioInfo> {
  const size = checkFile(path);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new AudioFileError(path, `cannot open the file (${(e as NodeJS.ErrnoException).code ?? String(e)}); check permissions`);
  }
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
