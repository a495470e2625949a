/**
 * A robust RIFF/WAVE reader and a small WAV writer, written for this project.
 *
 * Reading follows the Microsoft RIFF and WAVE specifications ("Multimedia
 * Programming Interface and Data Specifications 1.0", 1991; "New Multimedia
 * Data Types and Data Techniques", 1994, for WAVE_FORMAT_EXTENSIBLE) and
 * EBU Tech 3306 (RF64, for files over 4 GiB). Header sizes are never trusted:
 *
 * - a chunk (or the data chunk) that claims more bytes than the file has is cut
 *   at the end of the file, and only whole sample frames are decoded
 *   ({@link WavData.truncated} is then `true`);
 * - chunks are padded to even sizes, but writers that forget the pad byte are
 *   accepted too (the next chunk id is checked at both positions);
 * - unknown chunks (`LIST`, `bext`, `fact`, `cue `, `JUNK`, ...) are skipped;
 * - a `data` chunk before `fmt ` is accepted;
 * - the RIFF size field is ignored (the file size is used instead);
 * - a data size of `0xFFFFFFFF` (streaming writers, RF64) means "to the end".
 *
 * Supported encodings: integer PCM with 8-bit (unsigned), 16, 24 and 32-bit
 * containers (any valid-bit count inside the container, e.g. 20-in-24),
 * IEEE float 32 and 64, ITU-T G.711 A-law and µ-law; all through the plain
 * format tags and through WAVE_FORMAT_EXTENSIBLE; any channel count
 * (1..65535) and sample rates from {@link MIN_SAMPLE_RATE} to
 * {@link MAX_SAMPLE_RATE}. Other encodings (ADPCM, MP3-in-WAV, GSM, ...) and
 * other rates raise an {@link AudioFileError} naming the encoding or the rate.
 *
 * Every error is an {@link AudioFileError}: no byte string makes the parser
 * crash, hang or allocate more than the file's own size.
 */
import { AudioFileError } from './errors.ts';
import { writeFileAtomic } from './atomic.ts';

/**
 * Lowest sample rate, in Hz, that a file may declare: 1000 Hz. Audio files use
 * 8000 Hz and up (telephony is the lowest common rate); 1000 Hz leaves room
 * for unusual low-rate material (it still carries up to 500 Hz), while a
 * header saying 0, 1 or 100 Hz is almost always damaged, and resampling such
 * a file to the model's rate (e.g. 44.1 kHz) would multiply its samples by
 * hundreds: minutes of work and gigabytes of memory.
 */
export const MIN_SAMPLE_RATE = 1000;

/**
 * Highest sample rate, in Hz, that a file may declare: 768000 Hz (16 × 48 kHz),
 * the highest rate that current audio interfaces and recorders write. A larger
 * value (e.g. 4294967295 Hz) is a damaged header.
 */
export const MAX_SAMPLE_RATE = 768000;

/**
 * Largest sample magnitude accepted from float files: 1000, i.e. +60 dB above
 * full scale (±1). Float files legitimately exceed ±1 a little (mastering
 * overs, intermediate mixes); values beyond this bound are corrupt data or
 * integer-scaled samples (±32768) written into a float file, and would
 * overflow the float32 spectrogram downstream.
 */
export const MAX_SAMPLE_MAGNITUDE = 1000;

/** Decoded WAV content. */
export interface WavData {
  /** One Float32Array per channel, all of equal length (the frame count), values nominally in [-1, 1]. */
  channels: Float32Array[];
  /** Sample rate in Hz, as stored in the header (within {@link MIN_SAMPLE_RATE}..{@link MAX_SAMPLE_RATE}). */
  sampleRate: number;
  /** Human-readable description, e.g. `"WAV PCM 16-bit"`, `"RF64 float 32-bit"`, `"WAV (extensible) PCM 24-bit"`. */
  format: string;
  /** True if the header announced more sample data than the file holds (what exists was decoded). */
  truncated: boolean;
  /** Same as {@link WavHeader.declaredFrames}: the frames the header announces (the decoded count unless `truncated`). */
  declaredFrames: number;
}

/** Header facts of a WAV file, read without decoding the samples. */
export interface WavHeader {
  /** Sample rate in Hz. */
  sampleRate: number;
  /** Number of channels. */
  channels: number;
  /** Number of whole sample frames actually present in the file. */
  frames: number;
  /**
   * Sample frames the header announces: the data chunk size divided by the
   * frame size, a partial last frame counted as one, when `truncated`;
   * otherwise equal to `frames`.
   */
  declaredFrames: number;
  /** Same string as {@link WavData.format}. */
  format: string;
  /** Byte offset of the first sample. */
  dataOffset: number;
  /** Bytes of sample data present (whole frames only). */
  dataBytes: number;
  /** True if the header announced more data than the file holds. */
  truncated: boolean;
  /** Sample encoding. */
  encoding: 'pcm' | 'float' | 'alaw' | 'mulaw';
  /** Bytes per sample container (1, 2, 3, 4 or 8). */
  bytesPerSample: number;
  /** Significant bits per sample (<= 8 * bytesPerSample). */
  validBits: number;
}

/**
 * Random access to the bytes of a file: either an in-memory array or a file
 * read on demand (so a header can be probed without reading the samples).
 */
export interface ByteSource {
  /** Total size in bytes. */
  readonly size: number;
  /** Bytes `[offset, offset + length)`, clipped to the end of the source. */
  read(offset: number, length: number): Uint8Array;
}

/** A {@link ByteSource} over bytes already in memory. */
export function bytesSource(bytes: Uint8Array): ByteSource {
  return { size: bytes.length, read: (o, n) => bytes.subarray(Math.min(o, bytes.length), Math.min(o + n, bytes.length)) };
}

const WAVE_FORMAT_PCM = 0x0001;
const WAVE_FORMAT_IEEE_FLOAT = 0x0003;
const WAVE_FORMAT_ALAW = 0x0006;
const WAVE_FORMAT_MULAW = 0x0007;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

/** Names of common non-supported format tags, for the error message. */
const KNOWN_TAGS: Record<number, string> = {
  0x0002: 'Microsoft ADPCM',
  0x0011: 'IMA ADPCM',
  0x0031: 'GSM 6.10',
  0x0040: 'G.721 ADPCM',
  0x0050: 'MPEG audio',
  0x0055: 'MPEG Layer 3 (MP3)',
  0x0092: 'Dolby AC-3',
  0x00ff: 'AAC',
  0x0161: 'Windows Media Audio',
  0x2000: 'Dolby AC-3',
  0xf1ac: 'FLAC',
};

const CONVERT_HINT = 'convert it with: sox IN -b 16 OUT.wav';

function u16(b: Uint8Array, o: number): number {
  return b[o] | (b[o + 1] << 8);
}
function u32(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16)) + b[o + 3] * 0x1000000;
}
function u64(b: Uint8Array, o: number): number {
  return u32(b, o) + u32(b, o + 4) * 0x100000000;
}
function id4(b: Uint8Array, o: number): string {
  return String.fromCharCode(b[o], b[o + 1], b[o + 2], b[o + 3]);
}
/** A plausible chunk id: four printable ASCII characters. */
function isChunkId(b: Uint8Array, o: number): boolean {
  if (o + 4 > b.length) return false;
  for (let i = 0; i < 4; i++) if (b[o + i] < 0x20 || b[o + i] > 0x7e) return false;
  return true;
}

/**
 * Read the header of a RIFF/WAVE or RF64 file: walks the chunk list, parses
 * `fmt ` (and `ds64` for RF64) and locates the sample data, without reading it.
 *
 * @param src The file's bytes ({@link bytesSource}) or a file read on demand.
 * @param name File name used in error messages.
 * @throws AudioFileError for anything that is not a readable WAV file.
 */
export function readWavHeader(src: ByteSource, name: string): WavHeader {
  const fail = (problem: string): never => {
    throw new AudioFileError(name, problem);
  };
  if (src.size === 0) fail('file is empty (0 bytes); pass a WAV file that contains audio');
  const head = src.read(0, 12);
  if (head.length < 12) fail(`truncated WAV header (${src.size} bytes, need at least 12); the file is damaged, re-export it`);
  const magic = id4(head, 0);
  if (magic === 'RIFX') fail(`big-endian RIFX WAV is not supported; ${CONVERT_HINT}`);
  if (magic !== 'RIFF' && magic !== 'RF64' && magic !== 'BW64') fail(`not a WAV file (starts with neither RIFF nor RF64); pass a WAV, FLAC, MP3 or Ogg file`);
  if (id4(head, 8) !== 'WAVE') fail(`RIFF file of type "${id4(head, 8).replace(/[^\x20-\x7e]/g, '?')}" is not WAVE audio; pass a WAV, FLAC, MP3 or Ogg file`);
  const container = magic === 'RIFF' ? 'WAV' : 'RF64';

  let fmt: Uint8Array | undefined;
  let dataOffset = -1;
  let dataClaimed = 0;
  let ds64DataSize = -1;
  let pos = 12;
  // Each iteration advances pos by at least 8 bytes, so this loop ends.
  while (pos + 8 <= src.size) {
    const hdr = src.read(pos, 8);
    const id = id4(hdr, 0);
    let size = u32(hdr, 4);
    const body = pos + 8;
    if (id === 'ds64' && container === 'RF64') {
      const d = src.read(body, Math.min(size, 28));
      if (d.length >= 16) ds64DataSize = u64(d, 8);
    } else if (id === 'fmt ') {
      fmt = src.read(body, Math.min(size, 64)).slice();
    } else if (id === 'data') {
      if (dataOffset < 0) {
        dataOffset = body;
        if (size === 0xffffffff && ds64DataSize >= 0) size = ds64DataSize;
        dataClaimed = size === 0xffffffff ? src.size - body : size;
      }
      if (fmt) break; // Everything needed is known; do not walk (possibly huge) trailing data.
      size = dataClaimed;
    } else if (!isChunkId(hdr, 0)) {
      // Garbage where a chunk header should be: stop walking; use what was found so far.
      break;
    }
    let next = body + size;
    // Chunks are padded to an even size; accept writers that omitted the pad byte.
    if (size & 1) {
      const padded = next + 1;
      if (padded + 4 <= src.size && isChunkId(src.read(padded, 4), 0)) next = padded;
      else if (!(next + 4 <= src.size && isChunkId(src.read(next, 4), 0))) next = padded;
    }
    pos = next;
  }

  if (!fmt) return fail(`WAV file has no "fmt " chunk (header damaged or truncated); re-export the file`);
  if (fmt.length < 16) fail(`WAV "fmt " chunk is truncated (${fmt.length} of 16 bytes); re-export the file`);
  let tag = u16(fmt, 0);
  const channels = u16(fmt, 2);
  const sampleRate = u32(fmt, 4);
  const blockAlign = u16(fmt, 12);
  const bits = u16(fmt, 14);
  let validBits = bits;
  let extensible = false;
  if (tag === WAVE_FORMAT_EXTENSIBLE) {
    if (fmt.length < 40) fail(`WAVE_FORMAT_EXTENSIBLE "fmt " chunk is truncated (${fmt.length} of 40 bytes); re-export the file`);
    extensible = true;
    const vb = u16(fmt, 18);
    if (vb > 0) validBits = vb;
    tag = u16(fmt, 24); // first two bytes of the sub-format GUID hold the format tag
  }
  if (channels === 0) fail('WAV header says 0 channels; the file is damaged, re-export it');
  checkSampleRate(sampleRate, name, `${container} header`, true);

  let encoding: WavHeader['encoding'];
  if (tag === WAVE_FORMAT_PCM) encoding = 'pcm';
  else if (tag === WAVE_FORMAT_IEEE_FLOAT) encoding = 'float';
  else if (tag === WAVE_FORMAT_ALAW) encoding = 'alaw';
  else if (tag === WAVE_FORMAT_MULAW) encoding = 'mulaw';
  else {
    const what = KNOWN_TAGS[tag] ?? `format tag 0x${tag.toString(16).padStart(4, '0')}`;
    return fail(`unsupported WAV encoding ${what}; ${CONVERT_HINT}`);
  }

  // Container size: from blockAlign when it is consistent, else from the bit depth.
  let bytesPerSample = Math.ceil(bits / 8);
  if (blockAlign > 0 && blockAlign % channels === 0 && blockAlign / channels >= bytesPerSample) bytesPerSample = blockAlign / channels;
  const ok =
    (encoding === 'pcm' && bytesPerSample >= 1 && bytesPerSample <= 4 && bits >= 1) ||
    (encoding === 'float' && ((bytesPerSample === 4 && bits === 32) || (bytesPerSample === 8 && bits === 64))) ||
    ((encoding === 'alaw' || encoding === 'mulaw') && bytesPerSample === 1);
  if (!ok) fail(`unsupported WAV encoding ${encoding === 'float' ? 'float' : encoding.toUpperCase()} with ${bits} bits in ${bytesPerSample}-byte samples; ${CONVERT_HINT}`);
  if (validBits > 8 * bytesPerSample || validBits === 0) validBits = 8 * bytesPerSample;

  if (dataOffset < 0) fail('WAV file has no "data" chunk (no audio); re-export the file');
  const available = Math.max(0, src.size - dataOffset);
  const present = Math.min(dataClaimed, available);
  const frameBytes = bytesPerSample * channels;
  const frames = Math.floor(present / frameBytes);
  const truncated = dataClaimed > available;
  const desc =
    encoding === 'pcm' ? `PCM ${validBits}-bit` : encoding === 'float' ? `float ${bits}-bit` : encoding === 'alaw' ? 'A-law 8-bit' : 'mu-law 8-bit';
  return {
    sampleRate,
    channels,
    frames,
    format: `${container}${extensible ? ' (extensible)' : ''} ${desc}`,
    dataOffset,
    dataBytes: frames * frameBytes,
    truncated,
    declaredFrames: truncated ? Math.ceil(dataClaimed / frameBytes) : frames,
    encoding,
    bytesPerSample,
    validBits,
  };
}

/**
 * Throw an {@link AudioFileError} unless `rate` lies within
 * {@link MIN_SAMPLE_RATE}..{@link MAX_SAMPLE_RATE}. Readers call it on the
 * header's rate before any sample is read, decoded or resampled, so a damaged
 * rate (0 or 4294967295 Hz) is refused at once instead of after minutes of
 * resampling.
 *
 * @param rate Sample rate in Hz as stored in the file (NaN for an unreadable value).
 * @param name File name for the message (the path as the user gave it).
 * @param what Where the rate was read, for the message, e.g. `'WAV header'`,
 *   `'FLAC header (STREAMINFO)'`.
 * @param relabel True if `sox -r RATE IN OUT.wav` can correct a wrong header rate
 *   without resampling (WAV, AIFF); sox ignores `-r` on FLAC and Ogg input, so
 *   for those only resampling is suggested.
 * @throws AudioFileError naming the file, the rate, the supported range and the fix.
 */
export function checkSampleRate(rate: number, name: string, what: string, relabel: boolean): void {
  if (rate >= MIN_SAMPLE_RATE && rate <= MAX_SAMPLE_RATE) return;
  const setRate = 'set the true rate (sox -r TRUE_RATE IN OUT.wav)';
  if (!(rate > 0)) {
    const shown = Number.isNaN(rate) ? 'an unreadable sample rate' : `sample rate ${rate} Hz`;
    throw new AudioFileError(name, `${what} says ${shown}; the file is damaged, re-export it${relabel ? ` or ${setRate}` : ''}`);
  }
  const shown = Number.isInteger(rate) ? String(rate) : String(Number(rate.toFixed(3)));
  throw new AudioFileError(
    name,
    `${what} says sample rate ${shown} Hz, outside the supported ${MIN_SAMPLE_RATE}..${MAX_SAMPLE_RATE} Hz; ` +
      `resample it (sox IN -r 48000 OUT.wav)${relabel ? `, or if the header is wrong, ${setRate}` : ''}`,
  );
}

/** G.711 A-law byte to linear value in [-1, 1] (ITU-T G.711, table 1a). */
function alawToFloat(a: number): number {
  a ^= 0x55;
  const seg = (a >> 4) & 7;
  let mag = ((a & 0x0f) << 4) + 8;
  if (seg > 0) mag = (mag + 0x100) << (seg - 1);
  return (a & 0x80 ? mag : -mag) / 32768;
}

/** G.711 µ-law byte to linear value in [-1, 1] (ITU-T G.711, table 2a). */
function mulawToFloat(u: number): number {
  u = ~u & 0xff;
  const seg = (u >> 4) & 7;
  const mag = ((((u & 0x0f) << 3) + 0x84) << seg) - 0x84;
  return (u & 0x80 ? -mag : mag) / 32768;
}

/** Where and how interleaved samples are stored (see {@link decodeInterleaved}). */
export interface SampleLayout {
  /** Byte offset of the first sample frame in the byte array. */
  dataOffset: number;
  /** Number of whole frames to decode (the caller guarantees they are present). */
  frames: number;
  /** Channels per frame. */
  channels: number;
  /** Sample encoding. */
  encoding: 'pcm' | 'float' | 'alaw' | 'mulaw';
  /** Container bytes per sample: 1..4 for PCM, 4 or 8 for float, 1 for A-law/µ-law. */
  bytesPerSample: number;
  /** Byte order of multi-byte samples (AIFF: true, WAV: false). */
  bigEndian: boolean;
  /** 8-bit PCM is two's-complement signed (AIFF) rather than offset-binary unsigned (WAV). */
  signed8: boolean;
}

/**
 * De-interleave and convert integer/float/G.711 samples to float32 channels.
 * Integer PCM is scaled by 1 / 2^(8·bytesPerSample − 1), so a sample with
 * fewer valid bits, left-justified in its container, keeps its nominal scale.
 *
 * @param bytes The file's bytes.
 * @param l Layout; `dataOffset + frames · channels · bytesPerSample` must not exceed `bytes.length`.
 * @returns `channels` arrays of `frames` samples each.
 */
export function decodeInterleaved(bytes: Uint8Array, l: SampleLayout): Float32Array[] {
  const { frames, bytesPerSample: bps, channels: nch } = l;
  const le = !l.bigEndian;
  const channels: Float32Array[] = [];
  for (let c = 0; c < nch; c++) channels.push(new Float32Array(frames));
  const dv = new DataView(bytes.buffer, bytes.byteOffset + l.dataOffset, frames * nch * bps);
  const stride = bps * nch;
  for (let c = 0; c < nch; c++) {
    const out = channels[c];
    let o = c * bps;
    switch (l.encoding) {
      case 'pcm':
        if (bps === 1) {
          if (l.signed8) for (let i = 0; i < frames; i++, o += stride) out[i] = dv.getInt8(o) / 128;
          else for (let i = 0; i < frames; i++, o += stride) out[i] = (dv.getUint8(o) - 128) / 128;
        } else if (bps === 2) for (let i = 0; i < frames; i++, o += stride) out[i] = dv.getInt16(o, le) / 32768;
        else if (bps === 3) {
          if (le) for (let i = 0; i < frames; i++, o += stride) out[i] = ((dv.getInt8(o + 2) << 16) | dv.getUint16(o, true)) / 8388608;
          else for (let i = 0; i < frames; i++, o += stride) out[i] = ((dv.getInt8(o) << 16) | dv.getUint16(o + 1, false)) / 8388608;
        } else for (let i = 0; i < frames; i++, o += stride) out[i] = dv.getInt32(o, le) / 2147483648;
        break;
      case 'float':
        if (bps === 4) for (let i = 0; i < frames; i++, o += stride) out[i] = dv.getFloat32(o, le);
        else for (let i = 0; i < frames; i++, o += stride) out[i] = dv.getFloat64(o, le);
        break;
      case 'alaw':
        for (let i = 0; i < frames; i++, o += stride) out[i] = alawToFloat(dv.getUint8(o));
        break;
      case 'mulaw':
        for (let i = 0; i < frames; i++, o += stride) out[i] = mulawToFloat(dv.getUint8(o));
        break;
    }
  }
  return channels;
}

/**
 * Decode a WAV file held in memory.
 *
 * @param bytes The whole file.
 * @param name File name for error messages (the path as the user gave it).
 * @returns Per-channel samples as float32 in [-1, 1] (integer PCM is scaled by
 *   1 / 2^(8·bytesPerSample − 1), so 16-bit −32768 maps to −1; 8-bit is
 *   unsigned with 128 as zero); the header's sample rate; a format string.
 * @throws AudioFileError when the file is not WAV, uses an unsupported
 *   encoding, has 0 channels, a sample rate outside
 *   {@link MIN_SAMPLE_RATE}..{@link MAX_SAMPLE_RATE} (checked before any
 *   sample is decoded), holds no whole sample frame, or contains NaN,
 *   infinite or out-of-range float samples (see {@link assertFinite}).
 */
export function parseWav(bytes: Uint8Array, name: string): WavData {
  const h = readWavHeader(bytesSource(bytes), name);
  if (h.frames === 0) {
    throw new AudioFileError(
      name,
      h.truncated
        ? 'WAV data chunk is cut off before the first sample frame (file truncated); re-export the file'
        : 'WAV file has an empty data chunk (no audio samples); pass a file that contains sound',
    );
  }
  const channels = decodeInterleaved(bytes, { ...h, bigEndian: false, signed8: false });
  if (h.encoding === 'float') assertFinite(channels, h.sampleRate, name);
  return { channels, sampleRate: h.sampleRate, format: h.format, truncated: h.truncated, declaredFrames: h.declaredFrames };
}

/** A sample value for a message: plain up to 6 digits, else in exponent form (`1.00e+18`). */
function showValue(v: number): string {
  return Math.abs(v) < 1e6 ? String(Number(v.toFixed(1))) : v.toExponential(2);
}

/**
 * Throw an {@link AudioFileError} if any sample is NaN, ±Infinity, or larger
 * in magnitude than {@link MAX_SAMPLE_MAGNITUDE} (float files can hold all of
 * these; they must never reach the engine, where huge values overflow the
 * float32 spectrogram to Infinity). NaN and infinities are reported first,
 * wherever they are; otherwise the first sample over the bound is reported
 * with the file's peak and the gain that brings that peak to −1 dBFS. (sox is
 * not suggested for that: it clips float input at ±1 before any effect runs.)
 *
 * @param channels Per-channel samples; scanned channel by channel, without allocating.
 * @param sampleRate Used to report the time of the first bad sample.
 * @param name File name for the message.
 */
export function assertFinite(channels: Float32Array[], sampleRate: number, name: string): void {
  let huge: { c: number; i: number; v: number } | undefined;
  let peak = 0;
  for (let c = 0; c < channels.length; c++) {
    const x = channels[c];
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      // One comparison pair per sample on the normal path; NaN fails both.
      if (v <= MAX_SAMPLE_MAGNITUDE && v >= -MAX_SAMPLE_MAGNITUDE) continue;
      // v - v is NaN exactly when v is NaN or infinite.
      if (v - v !== 0) {
        const what = Number.isNaN(v) ? 'NaN' : 'infinite';
        throw new AudioFileError(
          name,
          `contains ${what} sample values (first at ${(i / sampleRate).toFixed(3)} s, channel ${c + 1}); the file is corrupt, re-export it`,
        );
      }
      if (!huge) huge = { c, i, v };
      const a = Math.abs(v);
      if (a > peak) peak = a;
    }
  }
  if (huge) {
    const gainDb = Math.floor(-1 - 20 * Math.log10(peak));
    throw new AudioFileError(
      name,
      `contains sample value ${showValue(huge.v)} at ${(huge.i / sampleRate).toFixed(3)} s (channel ${huge.c + 1}), ` +
        `beyond the ±${MAX_SAMPLE_MAGNITUDE} (+${Math.round(20 * Math.log10(MAX_SAMPLE_MAGNITUDE))} dB over full scale) this program accepts, peak ${showValue(peak)}; ` +
        `the file is corrupt or wrongly scaled: re-export it, or normalise it to -1 dBFS with: ffmpeg -i IN -af volume=${gainDb}dB OUT.wav`,
    );
  }
}

/** Options of {@link encodeWav}. */
export interface EncodeWavOptions {
  /**
   * Sample encoding. `'pcm16'` (default): 16-bit integer PCM, values clipped
   * to [-1, 1] then scaled by 32768 and rounded to nearest (ties away from
   * zero), clamped to [-32768, 32767]. `'float32'`: IEEE float, bit-exact.
   */
  encoding?: 'pcm16' | 'float32';
}

/** Standard speaker masks for WAVE_FORMAT_EXTENSIBLE, by channel count (0 = unassigned). */
const CHANNEL_MASKS: Record<number, number> = { 1: 0x4, 2: 0x3, 3: 0x7, 4: 0x33, 5: 0x37, 6: 0x3f, 7: 0x13f, 8: 0x63f };

/**
 * Encode samples as a WAV file.
 *
 * Mono and stereo use the plain `fmt ` (PCM: 16 bytes; float: 18 bytes plus a
 * `fact` chunk, as the WAVE spec requires for non-PCM data); three or more
 * channels use WAVE_FORMAT_EXTENSIBLE with the standard speaker mask.
 *
 * @param samples One channel (Float32Array) or an array of channels of equal length.
 * @param sampleRate Sample rate in Hz, a positive integer.
 * @param opts See {@link EncodeWavOptions}; default `{ encoding: 'pcm16' }`.
 * @returns The complete file bytes.
 * @throws RangeError for no channels, channels of unequal length, a bad rate,
 *   NaN or infinite samples, or a result larger than 4 GiB.
 */
export function encodeWav(samples: Float32Array | Float32Array[], sampleRate: number, opts: EncodeWavOptions = {}): Uint8Array {
  const chans = samples instanceof Float32Array ? [samples] : samples;
  const encoding = opts.encoding ?? 'pcm16';
  if (encoding !== 'pcm16' && encoding !== 'float32') throw new RangeError(`encodeWav: encoding must be 'pcm16' or 'float32', got ${JSON.stringify(encoding)}`);
  if (chans.length === 0 || chans.length > 65535) throw new RangeError(`encodeWav: need 1..65535 channels, got ${chans.length}`);
  if (!Number.isInteger(sampleRate) || sampleRate <= 0 || sampleRate > 0xffffffff)
    throw new RangeError(`encodeWav: sampleRate must be a positive integer (Hz), got ${sampleRate}`);
  const frames = chans[0].length;
  for (let c = 1; c < chans.length; c++)
    if (chans[c].length !== frames) throw new RangeError(`encodeWav: channel ${c + 1} has ${chans[c].length} samples but channel 1 has ${frames}; pass channels of equal length`);
  for (let c = 0; c < chans.length; c++) {
    const x = chans[c];
    for (let i = 0; i < frames; i++) if (x[i] - x[i] !== 0) throw new RangeError(`encodeWav: sample ${i} of channel ${c + 1} is ${x[i]}; only finite samples can be written`);
  }
  const nch = chans.length;
  const bps = encoding === 'pcm16' ? 2 : 4;
  const ext = nch > 2;
  const tag = encoding === 'pcm16' ? WAVE_FORMAT_PCM : WAVE_FORMAT_IEEE_FLOAT;
  const fmtSize = ext ? 40 : encoding === 'float32' ? 18 : 16;
  const factBytes = encoding === 'float32' ? 12 : 0;
  const dataBytes = frames * nch * bps;
  const total = 12 + 8 + fmtSize + factBytes + 8 + dataBytes;
  if (total - 8 > 0xffffffff) throw new RangeError(`encodeWav: ${total} bytes exceeds the 4 GiB WAV limit; write shorter files`);
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  const str = (o: number, s: string) => { for (let i = 0; i < 4; i++) out[o + i] = s.charCodeAt(i); };
  str(0, 'RIFF');
  dv.setUint32(4, total - 8, true);
  str(8, 'WAVE');
  str(12, 'fmt ');
  dv.setUint32(16, fmtSize, true);
  dv.setUint16(20, ext ? WAVE_FORMAT_EXTENSIBLE : tag, true);
  dv.setUint16(22, nch, true);
  dv.setUint32(24, sampleRate, true);
  dv.setUint32(28, sampleRate * nch * bps, true);
  dv.setUint16(32, nch * bps, true);
  dv.setUint16(34, bps * 8, true);
  let o = 36;
  if (fmtSize >= 18) { dv.setUint16(36, fmtSize - 18, true); o = 38; }
  if (ext) {
    dv.setUint16(38, bps * 8, true); // valid bits
    dv.setUint32(40, CHANNEL_MASKS[nch] ?? 0, true);
    // Sub-format GUID {0000xxxx-0000-0010-8000-00aa00389b71}
    dv.setUint16(44, tag, true);
    out.set([0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71], 46);
    o = 60;
  }
  if (factBytes) {
    str(o, 'fact');
    dv.setUint32(o + 4, 4, true);
    dv.setUint32(o + 8, frames, true);
    o += 12;
  }
  str(o, 'data');
  dv.setUint32(o + 4, dataBytes, true);
  o += 8;
  if (encoding === 'pcm16') {
    for (let c = 0; c < nch; c++) {
      const x = chans[c];
      for (let i = 0, p = o + 2 * c; i < frames; i++, p += 2 * nch) {
        let v = x[i];
        v = v > 1 ? 1 : v < -1 ? -1 : v;
        let s = Math.round(Math.abs(v) * 32768);
        s = v < 0 ? -s : s;
        if (s > 32767) s = 32767;
        dv.setInt16(p, s, true);
      }
    }
  } else {
    for (let c = 0; c < nch; c++) {
      const x = chans[c];
      for (let i = 0, p = o + 4 * c; i < frames; i++, p += 4 * nch) dv.setFloat32(p, x[i], true);
    }
  }
  return out;
}

/**
 * Encode samples as WAV (see {@link encodeWav}) and write them atomically
 * (temporary file + rename), so a reader never sees a partial file.
 *
 * @param path Destination file; its directory must exist.
 * @param samples One channel or an array of channels of equal length.
 * @param sampleRate Sample rate in Hz.
 * @param opts Encoding, default 16-bit PCM.
 */
export function writeWav(path: string, samples: Float32Array | Float32Array[], sampleRate: number, opts: EncodeWavOptions = {}): void {
  writeFileAtomic(path, encodeWav(samples, sampleRate, opts));
}
