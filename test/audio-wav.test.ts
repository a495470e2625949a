import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { parseWav, encodeWav, writeWav, readWavHeader, bytesSource } from '../src/io/wav.ts';
import { readAudio, probeAudio } from '../src/io/audio.ts';
import { createRng as rng } from '../src/dsp/rng.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lts-wav-'));


function sox(...args: string[]): void {
  execFileSync('sox', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Interleaved int16 source frames (with full-scale extremes) written as raw s16le. */
function rawS16(name: string, frames: number, channels: number, seed: number): { file: string; values: Int16Array } {
  const r = rng(seed);
  const v = new Int16Array(frames * channels);
  for (let i = 0; i < v.length; i++) v[i] = Math.floor(r() * 65536) - 32768;
  v[0] = -32768;
  v[1] = 32767;
  v[2] = 0;
  const file = path.join(dir, name);
  fs.writeFileSync(file, new Uint8Array(v.buffer));
  return { file, values: v };
}

function assertChannels(got: Float32Array[], expectInterleaved: ArrayLike<number>, channels: number, scale: number, what: string): void {
  assert.equal(got.length, channels, `${what}: channel count`);
  const frames = expectInterleaved.length / channels;
  for (let c = 0; c < channels; c++) {
    assert.equal(got[c].length, frames, `${what}: frames`);
    for (let i = 0; i < frames; i++) {
      const e = expectInterleaved[i * channels + c] / scale;
      if (got[c][i] !== e) assert.fail(`${what}: channel ${c} frame ${i}: got ${got[c][i]}, expected ${e}`);
    }
  }
}

test('sox-made WAVs: 16/24/32-bit PCM and float 32/64 decode to the exact source values, for several channel counts and rates', () => {
  const encodings: [string, string[], RegExp][] = [
    ['s16', ['-e', 'signed-integer', '-b', '16'], /PCM 16-bit/],
    ['s24', ['-e', 'signed-integer', '-b', '24'], /PCM 24-bit/],
    ['s32', ['-e', 'signed-integer', '-b', '32'], /PCM 32-bit/],
    ['f32', ['-e', 'floating-point', '-b', '32'], /float 32-bit/],
    ['f64', ['-e', 'floating-point', '-b', '64'], /float 64-bit/],
  ];
  const layouts: [number, number][] = [[1, 8000], [2, 44100], [3, 22050], [6, 96000]];
  let seed = 1;
  for (const [channels, rate] of layouts) {
    const src = rawS16(`src-${channels}-${rate}.raw`, 777, channels, seed++);
    for (const [tag, args, fmtRe] of encodings) {
      const out = path.join(dir, `sox-${tag}-${channels}-${rate}.wav`);
      sox('-t', 'raw', '-r', String(rate), '-c', String(channels), '-e', 'signed-integer', '-b', '16', '-L', src.file, ...args, out);
      const w = parseWav(new Uint8Array(fs.readFileSync(out)), out);
      assert.equal(w.sampleRate, rate);
      assert.match(w.format, fmtRe);
      assert.equal(w.truncated, false);
      assertChannels(w.channels, src.values, channels, 32768, `${tag} ${channels}ch ${rate}Hz`);
    }
  }
});

test('sox-made 8-bit unsigned WAV decodes to the exact source values', () => {
  const r = rng(11);
  const v = new Int8Array(2 * 301);
  for (let i = 0; i < v.length; i++) v[i] = Math.floor(r() * 256) - 128;
  v[0] = -128;
  v[1] = 127;
  const raw = path.join(dir, 's8.raw');
  fs.writeFileSync(raw, new Uint8Array(v.buffer));
  const out = path.join(dir, 'u8.wav');
  sox('-t', 'raw', '-r', '11025', '-c', '2', '-e', 'signed-integer', '-b', '8', raw, '-e', 'unsigned-integer', '-b', '8', out);
  const w = parseWav(new Uint8Array(fs.readFileSync(out)), out);
  assert.match(w.format, /PCM 8-bit/);
  assert.equal(w.sampleRate, 11025);
  assertChannels(w.channels, v, 2, 128, 'u8');
});

test('A-law and mu-law WAVs decode to the same values as sox decodes them', () => {
  const src = rawS16('g711.raw', 4000, 1, 5);
  for (const enc of ['a-law', 'u-law']) {
    const wav = path.join(dir, `${enc}.wav`);
    sox('-t', 'raw', '-r', '8000', '-c', '1', '-e', 'signed-integer', '-b', '16', '-L', src.file, '-e', enc, wav);
    const back = path.join(dir, `${enc}-back.raw`);
    sox('-D', wav, '-t', 'raw', '-e', 'signed-integer', '-b', '16', '-L', back);
    const ref = new Int16Array(new Uint8Array(fs.readFileSync(back)).slice().buffer);
    const w = parseWav(new Uint8Array(fs.readFileSync(wav)), wav);
    assert.match(w.format, enc === 'a-law' ? /A-law/ : /mu-law/);
    assertChannels(w.channels, ref, 1, 32768, enc);
  }
});

// ---- hand-built files: the edge cases of the RIFF layout ----

function le16(v: number): number[] {
  return [v & 255, (v >> 8) & 255];
}
function le32(v: number): number[] {
  return [v & 255, (v >>> 8) & 255, (v >>> 16) & 255, (v >>> 24) & 255];
}
function ascii(s: string): number[] {
  return [...s].map((c) => c.charCodeAt(0));
}
function chunk(id: string, body: number[], pad = true, sizeOverride?: number): number[] {
  const out = [...ascii(id), ...le32(sizeOverride ?? body.length), ...body];
  if (pad && body.length % 2 === 1) out.push(0);
  return out;
}
function fmtPcm(channels: number, rate: number, bits: number, tag = 1): number[] {
  const ba = (channels * bits) / 8;
  return [...le16(tag), ...le16(channels), ...le32(rate), ...le32(rate * ba), ...le16(ba), ...le16(bits)];
}
function riff(chunks: number[][], magic = 'RIFF'): Uint8Array {
  const body = chunks.flat();
  return new Uint8Array([...ascii(magic), ...le32(body.length + 4), ...ascii('WAVE'), ...body]);
}
function s16(values: number[]): number[] {
  return values.flatMap((v) => le16(v & 0xffff));
}

test('LIST chunks, odd-sized chunks with and without the pad byte, and data before fmt are all read', () => {
  const samples = [1000, -2000, 3000, -32768, 32767];
  const want = samples.map((v) => v / 32768);
  const list = chunk('LIST', [...ascii('INFOINAM'), ...le32(3), ...ascii('abc')]); // 15-byte body: padded
  const odd = chunk('junk', [1, 2, 3], true);
  const oddNoPad = chunk('abcd', [9, 9, 9], false); // a writer that forgot the pad byte
  for (const layout of [
    [chunk('fmt ', fmtPcm(1, 44100, 16)), list, odd, chunk('data', s16(samples))],
    [list, chunk('fmt ', fmtPcm(1, 44100, 16)), oddNoPad, chunk('data', s16(samples))],
    [chunk('data', s16(samples)), chunk('fmt ', fmtPcm(1, 44100, 16))],
    [chunk('fmt ', fmtPcm(1, 44100, 16)), chunk('data', s16(samples)), list],
  ]) {
    const w = parseWav(riff(layout), 'edge.wav');
    assert.deepEqual([...w.channels[0]], want);
    assert.equal(w.truncated, false);
  }
});

test('a data size larger than the file decodes the whole frames present and reports truncation', () => {
  const samples = [100, 200, 300, 400, 500, 600];
  // Stereo, 3 whole frames present plus one dangling byte; header claims 1000 bytes.
  const bytes = riff([chunk('fmt ', fmtPcm(2, 8000, 16)), [...ascii('data'), ...le32(1000), ...s16(samples), 7]]);
  const w = parseWav(bytes, 'cut.wav');
  assert.equal(w.truncated, true);
  assert.deepEqual([...w.channels[0]], [100, 300, 500].map((v) => v / 32768));
  assert.deepEqual([...w.channels[1]], [200, 400, 600].map((v) => v / 32768));
  // data size 0xFFFFFFFF (streaming writers) means "to the end of the file".
  const s = riff([chunk('fmt ', fmtPcm(1, 8000, 16)), [...ascii('data'), ...le32(0xffffffff), ...s16([5, 6])]]);
  assert.deepEqual([...parseWav(s, 's.wav').channels[0]], [5 / 32768, 6 / 32768]);
});

test('WAVE_FORMAT_EXTENSIBLE with 20 valid bits in 24-bit containers, and RF64 with a ds64 chunk', () => {
  const ext = [
    ...le16(0xfffe), ...le16(1), ...le32(48000), ...le32(48000 * 3), ...le16(3), ...le16(24),
    ...le16(22), ...le16(20), ...le32(4), ...le16(1), 0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xaa, 0, 0x38, 0x9b, 0x71,
  ];
  // 20-bit values are left-justified in the 24-bit container: v << 4.
  const vals = [0x7ffff, -0x80000, 12345, -1];
  const data = vals.flatMap((v) => {
    const x = (v << 4) & 0xffffff;
    return [x & 255, (x >> 8) & 255, (x >> 16) & 255];
  });
  const w = parseWav(riff([chunk('fmt ', ext), chunk('data', data)]), 'ext.wav');
  assert.equal(w.format, 'WAV (extensible) PCM 20-bit');
  assert.deepEqual([...w.channels[0]], vals.map((v) => (v * 16) / 8388608));

  const pcm = s16([11, -12, 13]);
  const ds64 = chunk('ds64', [...le32(1000), ...le32(0), ...le32(pcm.length), ...le32(0), ...le32(3), ...le32(0), ...le32(0)]);
  const rf = riff([ds64, chunk('fmt ', fmtPcm(1, 22050, 16)), [...ascii('data'), ...le32(0xffffffff), ...pcm], chunk('LIST', [1, 2, 3, 4])], 'RF64');
  const r = parseWav(rf, 'big.rf64');
  assert.equal(r.format, 'RF64 PCM 16-bit');
  assert.deepEqual([...r.channels[0]], [11, -12, 13].map((v) => v / 32768));
  assert.equal(r.truncated, false);
});

test('readWavHeader reads only the header: frames and format without touching sample bytes', () => {
  const bytes = encodeWav([new Float32Array(1000), new Float32Array(1000)], 32000, { encoding: 'float32' });
  const src = bytesSource(bytes);
  let bytesRead = 0;
  const h = readWavHeader({ size: src.size, read: (o, n) => { const b = src.read(o, n); bytesRead += b.length; return b; } }, 'h.wav');
  assert.equal(h.frames, 1000);
  assert.equal(h.channels, 2);
  assert.equal(h.sampleRate, 32000);
  assert.equal(h.encoding, 'float');
  assert.equal(h.dataBytes, 8000);
  assert.ok(bytesRead < 100, `read ${bytesRead} of ${bytes.length} bytes`);
});

// ---- writer ----

test('writeWav/readAudio round trip: float32 bit-exact, pcm16 within 1/32768 with clipping', async () => {
  const r = rng(99);
  const a = new Float32Array(5000).map(() => r() * 2 - 1);
  const b = new Float32Array(5000).map(() => (r() * 2 - 1) * 1.5); // values beyond ±1 must clip in pcm16
  a[0] = 1;
  a[1] = -1;
  const pf = path.join(dir, 'rt-f32.wav');
  writeWav(pf, [a, b], 44100, { encoding: 'float32' });
  const fa = await readAudio(pf, { channel: 0 });
  const fb = await readAudio(pf, { channel: 1 });
  assert.deepEqual(fa.samples, a);
  assert.deepEqual(fb.samples, b);
  assert.equal(fa.format, 'WAV float 32-bit');
  const pp = path.join(dir, 'rt-s16.wav');
  writeWav(pp, [a, b], 44100);
  for (const [c, x] of [[0, a], [1, b]] as const) {
    const got = (await readAudio(pp, { channel: c })).samples;
    for (let i = 0; i < x.length; i++) {
      const want = Math.max(-1, Math.min(1, x[i]));
      assert.ok(Math.abs(got[i] - want) <= 1 / 32768, `channel ${c} sample ${i}: ${got[i]} vs ${want}`);
    }
  }
  const mix = await readAudio(pf);
  assert.equal(mix.channels, 2);
  for (let i = 0; i < 100; i++) assert.ok(Math.abs(mix.samples[i] - (a[i] + b[i]) / 2) < 1e-7);
  assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')), []);
});

test('encodeWav output is read back exactly by sox (an independent reader), mono to 6 channels, both encodings', () => {
  for (const channels of [1, 2, 6]) {
    for (const encoding of ['pcm16', 'float32'] as const) {
      const chans: Float32Array[] = [];
      for (let c = 0; c < channels; c++) chans.push(new Float32Array(300).map((_, i) => Math.round(Math.sin(i * 0.1 + c) * 30000) / 32768));
      const f = path.join(dir, `enc-${channels}-${encoding}.wav`);
      writeWav(f, chans, 48000, { encoding });
      const info = execFileSync('soxi', [f], { encoding: 'utf8' });
      assert.match(info, new RegExp(`Channels\\s*: ${channels}`));
      assert.match(info, /Sample Rate\s*: 48000/);
      const raw = path.join(dir, `enc-${channels}-${encoding}.raw`);
      sox('-D', f, '-t', 'raw', '-e', 'signed-integer', '-b', '16', '-L', raw);
      const back = new Int16Array(new Uint8Array(fs.readFileSync(raw)).slice().buffer);
      assert.equal(back.length, 300 * channels);
      for (let i = 0; i < 300; i++) for (let c = 0; c < channels; c++) assert.equal(back[i * channels + c] / 32768, chans[c][i]);
    }
  }
});

test('encodeWav rejects bad input with a RangeError naming it', () => {
  assert.throws(() => encodeWav([], 44100), /channels/);
  assert.throws(() => encodeWav([new Float32Array(3), new Float32Array(4)], 44100), /channel 2 has 4 samples/);
  assert.throws(() => encodeWav(new Float32Array(3), 0), /sampleRate/);
  assert.throws(() => encodeWav(new Float32Array(3), 44100.5), /sampleRate/);
  assert.throws(() => encodeWav(new Float32Array([0, NaN]), 44100), /sample 1 of channel 1 is NaN/);
  assert.throws(() => encodeWav(new Float32Array([Infinity]), 44100, { encoding: 'float32' }), /Infinity/);
});

test('probeAudio on WAV reports duration, rate, channels and format from the header', async () => {
  const f = path.join(dir, 'probe.wav');
  writeWav(f, [new Float32Array(24000), new Float32Array(24000), new Float32Array(24000)], 48000);
  const p = await probeAudio(f);
  assert.deepEqual(p, { duration: 0.5, sampleRate: 48000, channels: 3, format: 'WAV (extensible) PCM 16-bit' });
  // A header claiming more data than present: the duration of what is present.
  const bytes = fs.readFileSync(f);
  const cut = path.join(dir, 'probe-cut.wav');
  fs.writeFileSync(cut, bytes.subarray(0, bytes.length - 6 * 12000));
  assert.equal((await probeAudio(cut)).duration, 0.25);
  assert.equal((await readAudio(cut)).samples.length, 12000);
});

test('a WAV, RF64 or AIFF whose header promises more than the file holds is read, with one warning giving both durations', async () => {
  // The QA case: a recorder died after 1 s of a take whose header says 2 s.
  const full = path.join(dir, 'take-full.wav');
  writeWav(full, new Float32Array(88200).map((_, i) => Math.sin(i / 10) * 0.5), 44100);
  const whole = fs.readFileSync(full);
  const take = path.join(dir, 'take.wav');
  fs.writeFileSync(take, whole.subarray(0, 44 + 2 * 44100));
  const a = await readAudio(take);
  assert.equal(a.samples.length, 44100);
  assert.deepEqual(a.warnings, [
    `${take}: the file is cut off: its header promises 2.00 s, it holds 1.00 s; using the 1.00 s that are there (re-export it, or rewrite it with: sox IN OUT.wav, to silence this)`,
  ]);
  // The samples that are there are the take's first second, untouched.
  assert.deepEqual(a.samples, (await readAudio(full)).samples.subarray(0, 44100));
  assert.deepEqual((await readAudio(full)).warnings, []);
  // The suggested fix works: sox rewrites the header to what is there.
  const fixed = path.join(dir, 'take-fixed.wav');
  sox(take, fixed);
  const f = await readAudio(fixed);
  assert.deepEqual(f.warnings, []);
  assert.deepEqual(f.samples, a.samples);
  // Same for RF64 (size from ds64) and for a header promising a partial frame more (a dangling byte).
  const pcm = s16([11, -12, 13, 14]);
  const ds64 = chunk('ds64', [...le32(1000), ...le32(0), ...le32(pcm.length + 2000), ...le32(0), ...le32(4), ...le32(0), ...le32(0)]);
  const rf = path.join(dir, 'cut.rf64');
  fs.writeFileSync(rf, riff([ds64, chunk('fmt ', fmtPcm(1, 1000, 16)), [...ascii('data'), ...le32(0xffffffff), ...pcm]], 'RF64'));
  assert.deepEqual((await readAudio(rf)).warnings, [
    `${rf}: the file is cut off: its header promises 1.00 s, it holds 0.0040 s; using the 0.0040 s that are there (re-export it, or rewrite it with: sox IN OUT.wav, to silence this)`,
  ]);
  const dangling = parseWav(riff([chunk('fmt ', fmtPcm(2, 8000, 16)), [...ascii('data'), ...le32(10), ...s16([1, 2]), 7]]), 'd.wav');
  assert.equal(dangling.truncated, true);
  assert.equal(dangling.channels[0].length, 1);
  assert.equal(dangling.declaredFrames, 3); // 10 bytes of 4-byte frames: two and a half, counted as three
  // AIFF (sox-made, 2 s) cut to its header and 1 s of samples.
  const aiff = path.join(dir, 'take.aiff');
  sox('-n', '-r', '8000', '-b', '16', aiff, 'synth', '2', 'sine', '300');
  const ab = fs.readFileSync(aiff);
  const ssnd = ab.indexOf('SSND');
  const cutAiff = path.join(dir, 'take-cut.aiff');
  fs.writeFileSync(cutAiff, ab.subarray(0, ssnd + 16 + 2 * 8000));
  const c = await readAudio(cutAiff);
  assert.equal(c.samples.length, 8000);
  assert.deepEqual(c.warnings, [
    `${cutAiff}: the file is cut off: its header promises 2.00 s, it holds 1.00 s; using the 1.00 s that are there (re-export it, or rewrite it with: sox IN OUT.wav, to silence this)`,
  ]);
  assert.deepEqual((await readAudio(aiff)).warnings, []);
});
