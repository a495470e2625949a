import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { readAudio, probeAudio } from '../src/io/audio.ts';
import { encodeWav, parseWav, readWavHeader, bytesSource } from '../src/io/wav.ts';
import { AudioFileError } from '../src/io/errors.ts';
import { expectBad } from './helpers/audio-errors.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lts-bad-'));

function file(name: string, bytes: Uint8Array | string): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, bytes);
  return p;
}

/** A hand-made 16-bit PCM WAV header with the given fields. */
function wavBytes(o: { channels?: number; rate?: number; tag?: number; bits?: number; dataSize?: number; data?: number[]; float64?: number[] }): Uint8Array {
  const ch = o.channels ?? 1;
  const bits = o.bits ?? 16;
  const ba = (ch * bits) / 8;
  let data = o.data ?? [];
  if (o.float64) {
    const b = new Uint8Array(o.float64.length * 8);
    new DataView(b.buffer).setFloat64(0, 0);
    o.float64.forEach((v, i) => new DataView(b.buffer).setFloat64(i * 8, v, true));
    data = [...b];
  }
  const fmt = new DataView(new ArrayBuffer(16));
  fmt.setUint16(0, o.tag ?? 1, true);
  fmt.setUint16(2, ch, true);
  fmt.setUint32(4, o.rate ?? 8000, true);
  fmt.setUint32(8, (o.rate ?? 8000) * ba, true);
  fmt.setUint16(12, ba, true);
  fmt.setUint16(14, bits, true);
  const out = new Uint8Array(12 + 8 + 16 + 8 + data.length);
  const dv = new DataView(out.buffer);
  out.set([82, 73, 70, 70], 0);
  dv.setUint32(4, out.length - 8, true);
  out.set([87, 65, 86, 69, 102, 109, 116, 32], 8);
  dv.setUint32(16, 16, true);
  out.set(new Uint8Array(fmt.buffer), 20);
  out.set([100, 97, 116, 97], 36);
  dv.setUint32(40, o.dataSize ?? data.length, true);
  out.set(data, 44);
  return out;
}

test('missing file, directory and empty file', async () => {
  await expectBad(path.join(dir, 'nope.wav'), /file not found; check the path/);
  const sub = path.join(dir, 'folder.wav');
  fs.mkdirSync(sub);
  await expectBad(sub, /is a directory; pass an audio file/);
  await expectBad(file('empty.wav', new Uint8Array(0)), /file is empty \(0 bytes\)/);
});

test('truncated header, not audio, other RIFF/IFF types, damaged AIFF', async () => {
  await expectBad(file('short.wav', new Uint8Array([82, 73, 70, 70, 1, 2])), /truncated WAV header \(6 bytes/);
  await expectBad(file('text.wav', 'hello, this is not a sound file\n'), /not an audio file \(unrecognised header\); pass a WAV, AIFF, FLAC, MP3, Ogg Vorbis or Ogg Opus file/);
  const avi = new Uint8Array([82, 73, 70, 70, 4, 0, 0, 0, 65, 86, 73, 32, 0, 0, 0, 0]);
  await expectBad(file('movie.wav', avi), /RIFF file of type "AVI " is not WAVE audio/);
  const svx = path.join(dir, 'x.8svx');
  execFileSync('sox', ['-n', '-r', '8000', svx, 'synth', '0.1', 'sine', '440']);
  await expectBad(svx, /IFF file of type "8SVX" is not AIFF audio/);
  // AIFF with its SSND chunk cut away, and AIFF-C with a compression it does not support.
  const aiff = path.join(dir, 'x.aiff');
  execFileSync('sox', ['-n', '-r', '8000', aiff, 'synth', '0.1', 'sine', '440']);
  const ab = fs.readFileSync(aiff);
  const ssnd = ab.indexOf('SSND');
  await expectBad(file('nossnd.aiff', ab.subarray(0, ssnd)), /AIFF file has no SSND chunk/);
  const comm = ab.indexOf('COMM');
  await expectBad(file('nocomm.aiff', ab.subarray(0, comm + 12)), /COMM chunk is truncated/);
  // A PCM AIFF-C with its compression type patched to GSM (sox cannot write compressed AIFF-C).
  const pcm = path.join(dir, 'y.aifc');
  execFileSync('sox', ['-n', '-r', '8000', pcm, 'synth', '0.1', 'sine', '440']);
  const pb = fs.readFileSync(pcm);
  const typeAt = pb.indexOf('COMM') + 8 + 18;
  assert.equal(pb.toString('latin1', typeAt, typeAt + 4), 'NONE');
  pb.write('GSM ', typeAt, 'latin1');
  await expectBad(file('gsm.aifc', pb), /unsupported AIFF-C compression "GSM "/);
  // Only fmt, no data chunk; fmt cut short.
  const noData = wavBytes({ data: [1, 2] }).subarray(0, 36);
  await expectBad(file('nodata.wav', noData), /no "data" chunk/);
  await expectBad(file('cutfmt.wav', wavBytes({}).subarray(0, 28)), /"fmt " chunk is truncated/);
});

test('unsupported encodings are named', async () => {
  const adpcm = path.join(dir, 'adpcm.wav');
  execFileSync('sox', ['-n', '-r', '8000', '-e', 'ms-adpcm', adpcm, 'synth', '0.1', 'sine', '440']);
  await expectBad(adpcm, /unsupported WAV encoding Microsoft ADPCM; convert it with: sox IN -b 16 OUT\.wav/);
  const ima = path.join(dir, 'ima.wav');
  execFileSync('sox', ['-n', '-r', '8000', '-e', 'ima-adpcm', ima, 'synth', '0.1', 'sine', '440']);
  await expectBad(ima, /unsupported WAV encoding IMA ADPCM/);
  await expectBad(file('tag.wav', wavBytes({ tag: 0x1234, data: [0, 0] })), /unsupported WAV encoding format tag 0x1234/);
  await expectBad(file('f16.wav', wavBytes({ tag: 3, bits: 16, data: [0, 0] })), /unsupported WAV encoding float with 16 bits/);
});

test('0 channels, sample rate 0, empty data, data promised but absent', async () => {
  await expectBad(file('ch0.wav', wavBytes({ channels: 0, data: [0, 0] })), /0 channels/);
  await expectBad(file('sr0.wav', wavBytes({ rate: 0, data: [0, 0] })), /sample rate 0 Hz/);
  await expectBad(file('nodata2.wav', wavBytes({ data: [] })), /no audio samples/);
  // Header promises 10000 bytes, the file holds one byte of a 2-byte sample: nothing to decode.
  await expectBad(file('cut.wav', wavBytes({ dataSize: 10000, data: [7] })), /no audio samples|cut off before the first sample frame/);
  // Header promises more than present, but whole frames exist: decoded.
  const some = await readAudio(file('some.wav', wavBytes({ dataSize: 10000, data: [0, 64, 0, 192, 5] })));
  assert.deepEqual([...some.samples], [0.5, -0.5]);
});

test('an implausible source rate is refused, and resampling cannot allocate without bound', async () => {
  // A 1 Hz header is refused outright (the range is tested in audio-limits.test.ts) ...
  await expectBad(file('1hz.wav', wavBytes({ rate: 1, data: new Array(6000).fill(0) })), /WAV header says sample rate 1 Hz, outside the supported 1000\.\.768000 Hz/);
  // ... and a valid rate resampled to a huge target is refused before allocating: 1000 Hz, 3000 samples,
  // resampled to 1 GHz would be 3e9 samples.
  const p = file('1khz.wav', wavBytes({ rate: 1000, data: new Array(6000).fill(0) }));
  assert.equal((await readAudio(p)).sampleRate, 1000);
  await assert.rejects(readAudio(p, { sampleRate: 1e9 }), (e: unknown) => e instanceof AudioFileError && /is too long to resample from 1000 Hz to 1000000000 Hz \(3000 samples would become 3000000000, over 2\^31\); split it/.test(e.message));
});

test('NaN and infinite samples are refused, naming the file, time and channel', async () => {
  await expectBad(file('nan.wav', wavBytes({ tag: 3, bits: 64, float64: [0, 0.5, NaN, 0.1] })), /contains NaN sample values \(first at 0\.000 s, channel 1\)/, { probeToo: false });
  // Stereo at 1000 Hz: -Infinity in channel 2 at frame 1000, i.e. 1.000 s.
  const inf = new Array(2 * 1001).fill(0);
  inf[2 * 1000 + 1] = -Infinity;
  await expectBad(file('inf.wav', wavBytes({ tag: 3, bits: 64, channels: 2, rate: 1000, float64: inf })), /contains infinite sample values \(first at 1\.000 s, channel 2\)/, { probeToo: false });
  // probe does not decode, so it reports the header facts.
  assert.equal((await probeAudio(path.join(dir, 'nan.wav'))).duration, 4 / 8000);
});

test('truncated and damaged FLAC, Ogg and MP3 files give AudioFileError or decode what is there', async () => {
  const n = 22050;
  const x = new Float32Array(n).map((_, i) => 0.5 * Math.sin((2 * Math.PI * 330 * i) / 22050));
  const src = file('c.wav', encodeWav(x, 22050));
  const made: string[] = [];
  for (const ext of ['flac', 'ogg', 'mp3']) {
    const p = path.join(dir, `c.${ext}`);
    if (ext === 'mp3') execFileSync('lame', ['--quiet', src, p]);
    else execFileSync('sox', [src, p]);
    made.push(p);
  }
  for (const p of made) {
    const bytes = fs.readFileSync(p);
    for (const frac of [0.02, 0.1, 0.3, 0.6, 0.9]) {
      const cut = file(`cut-${frac}-${path.basename(p)}`, bytes.subarray(0, Math.floor(bytes.length * frac)));
      for (const fn of [readAudio, probeAudio]) {
        let result: { duration: number } | undefined;
        let error: unknown;
        try {
          result = await fn(cut);
        } catch (e) {
          error = e;
        }
        if (result) assert.ok(result.duration > 0 && result.duration <= 1.2, `${cut}: duration ${result.duration}`);
        else {
          assert.ok(error instanceof AudioFileError, `${cut}: ${String(error)}`);
          assert.ok(!error.message.includes('\n'));
        }
      }
    }
    // Garbage after a valid magic number.
    const junk = new Uint8Array(4000).map((_, i) => (i * 131 + 7) & 255);
    junk.set(bytes.subarray(0, 4));
    const bad = file(`junk-${path.basename(p)}`, junk);
    // Either refused, or (MP3: a valid first frame header) at most one frame of audio, never a crash.
    let got: { samples: Float32Array } | undefined;
    try {
      got = await readAudio(bad);
    } catch (e) {
      assert.ok(e instanceof AudioFileError, `${bad}: ${String(e)}`);
    }
    if (got) assert.ok(got.samples.length <= 1152, `${bad}: ${got.samples.length} samples from junk`);
  }
});

test('parseWav and readWavHeader throw AudioFileError (not TypeError/RangeError) on tiny inputs', () => {
  for (let len = 0; len < 60; len++) {
    const full = wavBytes({ data: [1, 2, 3, 4] });
    const b = full.subarray(0, len);
    try {
      parseWav(b, 'tiny.wav');
      assert.ok(len >= 46, `parsed ${len} bytes`);
    } catch (e) {
      assert.ok(e instanceof AudioFileError, `${len}: ${String(e)}`);
    }
    try {
      readWavHeader(bytesSource(b), 'tiny.wav');
    } catch (e) {
      assert.ok(e instanceof AudioFileError, `${len}: ${String(e)}`);
    }
  }
});
