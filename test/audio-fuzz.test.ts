import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { encodeWav, parseWav, readWavHeader, bytesSource, MIN_SAMPLE_RATE, MAX_SAMPLE_RATE, MAX_SAMPLE_MAGNITUDE } from '../src/io/wav.ts';
import { readAudio, probeAudio } from '../src/io/audio.ts';
import { AudioFileError } from '../src/io/errors.ts';
import { createRng as rng } from '../src/dsp/rng.ts';


/** A 24-bit WAVE_FORMAT_EXTENSIBLE stereo file with a LIST chunk, built byte by byte. */
function ext24(): Uint8Array {
  const frames = 40;
  const fmt = new DataView(new ArrayBuffer(40));
  fmt.setUint16(0, 0xfffe, true);
  fmt.setUint16(2, 2, true);
  fmt.setUint32(4, 48000, true);
  fmt.setUint32(8, 48000 * 6, true);
  fmt.setUint16(12, 6, true);
  fmt.setUint16(14, 24, true);
  fmt.setUint16(16, 22, true);
  fmt.setUint16(18, 24, true);
  fmt.setUint32(20, 3, true);
  fmt.setUint16(24, 1, true);
  const parts: number[] = [];
  const push = (s: string) => parts.push(...[...s].map((c) => c.charCodeAt(0)));
  const u32 = (v: number) => parts.push(v & 255, (v >>> 8) & 255, (v >>> 16) & 255, (v >>> 24) & 255);
  push('WAVE');
  push('LIST');
  u32(5);
  push('INFOx');
  parts.push(0);
  push('fmt ');
  u32(40);
  parts.push(...new Uint8Array(fmt.buffer));
  push('data');
  u32(frames * 6);
  for (let i = 0; i < frames * 2; i++) parts.push(i & 255, (i * 3) & 255, (i * 7) & 127);
  const body = new Uint8Array(parts);
  const out = new Uint8Array(8 + body.length);
  out.set([82, 73, 70, 70], 0);
  new DataView(out.buffer).setUint32(4, body.length, true);
  out.set(body, 8);
  return out;
}

/** A 16-bit stereo AIFF at 44100 Hz (rate as 80-bit extended 0x400E AC44 0...), built byte by byte. */
function aiff16(): Uint8Array {
  const frames = 30;
  const be32 = (v: number) => [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
  const ascii = (t: string) => [...t].map((c) => c.charCodeAt(0));
  const comm = [0, 2, ...be32(frames), 0, 16, 0x40, 0x0e, 0xac, 0x44, 0, 0, 0, 0, 0, 0];
  const data: number[] = [];
  for (let i = 0; i < frames * 2; i++) data.push((i * 37) & 255, (i * 11) & 255);
  const body = [...ascii('AIFF'), ...ascii('COMM'), ...be32(comm.length), ...comm, ...ascii('SSND'), ...be32(8 + data.length), ...be32(0), ...be32(0), ...data];
  return new Uint8Array([...ascii('FORM'), ...be32(body.length), ...body]);
}

function bases(): Uint8Array[] {
  const r = rng(1);
  const sig = (n: number) => new Float32Array(n).map(() => r() * 2 - 1);
  return [
    encodeWav(sig(64), 8000),
    encodeWav([sig(50), sig(50)], 44100, { encoding: 'float32' }),
    encodeWav([sig(30), sig(30), sig(30)], 22050),
    encodeWav([sig(20), sig(20), sig(20), sig(20), sig(20), sig(20)], 96000, { encoding: 'float32' }),
    ext24(),
  ];
}

/** Apply 1..4 random mutations: truncation, byte changes (header-biased), size-field overwrites, insertions, deletions. */
function mutate(src: Uint8Array, r: () => number): Uint8Array {
  let b = src.slice();
  const ops = 1 + Math.floor(r() * 4);
  const specials = [0, 1, 2, 3, 0xffffffff, 0x7fffffff, 0x80000000, 0xfffffffe];
  for (let k = 0; k < ops; k++) {
    const op = Math.floor(r() * 6);
    if (op === 0 && b.length > 0) {
      b = b.slice(0, Math.floor(r() * b.length));
    } else if (op === 1 && b.length > 0) {
      const span = Math.min(b.length, r() < 0.7 ? 80 : b.length);
      const n = 1 + Math.floor(r() * 4);
      for (let i = 0; i < n; i++) b[Math.floor(r() * span)] = Math.floor(r() * 256);
    } else if (op === 2 && b.length >= 8) {
      // Overwrite an aligned 32-bit field in the header with a special or random value.
      const at = 4 * Math.floor((r() * Math.min(b.length - 4, 80)) / 4);
      const v = r() < 0.6 ? specials[Math.floor(r() * specials.length)] : Math.floor(r() * 2 ** 32);
      new DataView(b.buffer, b.byteOffset).setUint32(at, v >>> 0, true);
    } else if (op === 3) {
      const at = Math.floor(r() * (b.length + 1));
      const ins = new Uint8Array(1 + Math.floor(r() * 9)).map(() => Math.floor(r() * 256));
      const nb = new Uint8Array(b.length + ins.length);
      nb.set(b.subarray(0, at));
      nb.set(ins, at);
      nb.set(b.subarray(at), at + ins.length);
      b = nb;
    } else if (op === 4 && b.length > 0) {
      const at = Math.floor(r() * b.length);
      const n = 1 + Math.floor(r() * 8);
      b = new Uint8Array([...b.subarray(0, at), ...b.subarray(Math.min(b.length, at + n))]);
    } else if (op === 5 && b.length >= 16) {
      // Change a 16-bit fmt field (tag, channels, block align, bits) to a random small value.
      const at = [20, 22, 32, 34][Math.floor(r() * 4)];
      if (at + 2 <= b.length) new DataView(b.buffer, b.byteOffset).setUint16(at, Math.floor(r() * 70), true);
    }
  }
  return b;
}

/** An accepted file: channels of equal non-zero length, a supported rate, samples finite and within ±MAX_SAMPLE_MAGNITUDE. */
function checkResult(w: { channels: Float32Array[]; sampleRate: number }, what: string): void {
  assert.ok(w.channels.length > 0, `${what}: no channels`);
  assert.ok(w.sampleRate >= MIN_SAMPLE_RATE && w.sampleRate <= MAX_SAMPLE_RATE, `${what}: rate ${w.sampleRate}`);
  const n = w.channels[0].length;
  assert.ok(n > 0, `${what}: empty`);
  for (const c of w.channels) {
    assert.equal(c.length, n, `${what}: ragged channels`);
    for (let i = 0; i < c.length; i++) if (!Number.isFinite(c[i]) || Math.abs(c[i]) > MAX_SAMPLE_MAGNITUDE) assert.fail(`${what}: sample ${c[i]}`);
  }
}

test('fuzz: 4000 mutated/truncated WAVs only ever give a valid result or an AudioFileError (seeded)', () => {
  const r = rng(20240611);
  const bs = bases();
  let ok = 0;
  let refused = 0;
  for (let it = 0; it < 4000; it++) {
    const base = bs[it % bs.length];
    const b = mutate(base, r);
    const what = `iteration ${it} (${b.length} bytes)`;
    for (const fn of [() => parseWav(b, 'fuzz.wav'), () => readWavHeader(bytesSource(b), 'fuzz.wav')]) {
      let res: unknown;
      try {
        res = fn();
      } catch (e) {
        if (!(e instanceof AudioFileError)) assert.fail(`${what}: threw ${String(e)}`);
        assert.ok(!e.message.includes('\n') && e.message.startsWith('fuzz.wav: '), `${what}: ${e.message}`);
        refused++;
        continue;
      }
      if ('channels' in (res as object) && Array.isArray((res as { channels: unknown }).channels)) checkResult(res as { channels: Float32Array[]; sampleRate: number }, what);
      else {
        const h = res as { sampleRate: number; frames: number; declaredFrames: number; truncated: boolean };
        assert.ok(h.sampleRate >= MIN_SAMPLE_RATE && h.sampleRate <= MAX_SAMPLE_RATE, `${what}: header rate ${h.sampleRate}`);
        assert.ok(h.truncated ? h.declaredFrames > h.frames : h.declaredFrames === h.frames, `${what}: declared ${h.declaredFrames}, frames ${h.frames}, truncated ${h.truncated}`);
      }
      ok++;
    }
  }
  // Both outcomes must really occur, or the mutations are not exercising the parser.
  assert.ok(ok > 500 && refused > 500, `ok ${ok}, refused ${refused}`);
});

test('fuzz: mutated WAV and AIFF files through readAudio and probeAudio (seeded)', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lts-fuzz-'));
  const r = rng(77);
  const a = aiff16();
  const cleanPath = path.join(dir, 'clean.aiff');
  fs.writeFileSync(cleanPath, a);
  const clean = await readAudio(cleanPath, { channel: 1 });
  assert.equal(clean.format, 'AIFF PCM 16-bit');
  assert.equal(clean.sampleRate, 44100);
  // Frame 2 of channel 1 is interleaved sample 5: big-endian bytes 185, 55 = 47415 - 65536 = -18121.
  assert.equal(clean.samples[2], -18121 / 32768);
  const bs = [...bases(), a, a, a];
  for (let it = 0; it < 240; it++) {
    const p = path.join(dir, `f${it}.bin`);
    fs.writeFileSync(p, mutate(bs[it % bs.length], r));
    for (const fn of [readAudio, probeAudio]) {
      let res: { duration: number; sampleRate: number; warnings?: string[] } | undefined;
      try {
        res = await fn(p);
      } catch (e) {
        if (!(e instanceof AudioFileError)) assert.fail(`${p}: threw ${String(e)}`);
        continue;
      }
      assert.ok(res.duration > 0 && Number.isFinite(res.duration), `${p}: duration ${res.duration}`);
      assert.ok(res.sampleRate >= MIN_SAMPLE_RATE && res.sampleRate <= MAX_SAMPLE_RATE, `${p}: rate ${res.sampleRate}`);
      // readAudio: at most one warning, one line, naming the file.
      if (fn === readAudio) {
        const w = res.warnings ?? [];
        assert.ok(w.length <= 1 && w.every((m) => m.startsWith(`${p}: `) && !m.includes('\n')), `${p}: warnings ${JSON.stringify(w)}`);
      }
    }
  }
});
