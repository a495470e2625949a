import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { readAudio, probeAudio, MIN_SAMPLE_RATE, MAX_SAMPLE_RATE, MAX_SAMPLE_MAGNITUDE } from '../src/io/audio.ts';
import { encodeWav, writeWav } from '../src/io/wav.ts';
import { AudioFileError } from '../src/io/errors.ts';
import { expectBad } from './helpers/audio-errors.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lts-limits-'));

function file(name: string, bytes: Uint8Array): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, bytes);
  return p;
}

function run(cmd: string, ...args: string[]): void {
  execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

const sine = (n: number, rate: number, amp = 0.5) => new Float32Array(n).map((_, i) => amp * Math.sin((2 * Math.PI * 300 * i) / rate));

/** WAV and AIFF can relabel a wrong header rate with sox -r; FLAC and Ogg only suggest resampling (sox ignores -r on them). */
const RELABEL = ', or if the header is wrong, set the true rate \\(sox -r TRUE_RATE IN OUT\\.wav\\)$';
const outside = (what: string, rate: number, relabel: boolean) =>
  new RegExp(`${what} says sample rate ${rate} Hz, outside the supported 1000\\.\\.768000 Hz; resample it \\(sox IN -r 48000 OUT\\.wav\\)${relabel ? RELABEL : '$'}`);

test('the supported sample rates are 1000..768000 Hz', () => {
  assert.equal(MIN_SAMPLE_RATE, 1000);
  assert.equal(MAX_SAMPLE_RATE, 768000);
  assert.equal(MAX_SAMPLE_MAGNITUDE, 1000);
});

test('sample rates outside 1000..768000 Hz are refused by the WAV, RF64, AIFF, FLAC and Ogg Vorbis readers, naming the rate and the fix', async () => {
  // WAV: the bounds themselves are accepted, one past them refused, and the QA cases (100 Hz, 1 MHz, 2^32 - 1 Hz).
  for (const rate of [1000, 768000]) {
    const p = path.join(dir, `ok-${rate}.wav`);
    writeWav(p, sine(rate / 10, rate), rate);
    const a = await readAudio(p);
    assert.equal(a.sampleRate, rate);
    assert.equal(a.samples.length, rate / 10);
    assert.equal((await probeAudio(p)).sampleRate, rate);
  }
  for (const rate of [999, 768001, 100, 1000000, 4294967295]) {
    await expectBad(file(`bad-${rate}.wav`, encodeWav(sine(500, 8000), rate)), outside('WAV header', rate, true));
  }
  // RF64 and extensible WAV go through the same header check.
  const rf = encodeWav(sine(500, 8000), 500);
  rf.set([0x52, 0x46, 0x36, 0x34]); // "RF64"
  await expectBad(file('bad.rf64', rf), outside('RF64 header', 500, true));
  await expectBad(file('bad-ext.wav', encodeWav([sine(50, 8000), sine(50, 8000), sine(50, 8000)], 900)), outside('WAV header', 900, true));
  // Rate 0 is a damaged header, not something to resample.
  await expectBad(file('zero.wav', encodeWav(sine(50, 8000), 8000).fill(0, 24, 28)), /WAV header says sample rate 0 Hz; the file is damaged, re-export it or set the true rate/);

  // sox-made AIFF, FLAC and Ogg Vorbis at 800 Hz (and AIFF at 1 MHz).
  const made: [string, string[], RegExp][] = [
    ['low.aiff', ['-r', '800'], outside('AIFF header', 800, true)],
    ['high.aiff', ['-r', '1000000'], outside('AIFF header', 1000000, true)],
    ['low.flac', ['-r', '800'], outside('FLAC header \\(STREAMINFO\\)', 800, false)],
    ['low.ogg', ['-r', '800'], outside('Ogg Vorbis header', 800, false)],
  ];
  for (const [name, args, re] of made) {
    const p = path.join(dir, name);
    run('sox', '-n', ...args, p, 'synth', '0.5', 'sine', '100');
    await expectBad(p, re);
  }
  // MP3 cannot hold such a rate (its header indexes a table of 8..48 kHz) and Opus always decodes at 48 kHz.
});

test('the fixes the rate messages suggest work: sox -r relabels a WAV header, sox IN -r 48000 resamples a FLAC', async () => {
  const wrong = file('wrong-rate.wav', encodeWav(sine(4410, 44100), 100)); // 44100 Hz audio labelled 100 Hz
  const relabelled = path.join(dir, 'relabelled.wav');
  run('sox', '-r', '44100', wrong, relabelled);
  const a = await readAudio(relabelled);
  assert.equal(a.sampleRate, 44100);
  assert.equal(a.samples.length, 4410);
  assert.deepEqual(a.warnings, []);
  const low = path.join(dir, 'fix-low.flac');
  run('sox', '-n', '-r', '800', low, 'synth', '0.5', 'sine', '100');
  const resampled = path.join(dir, 'resampled.wav');
  run('sox', low, '-r', '48000', resampled);
  const b = await readAudio(resampled);
  assert.equal(b.sampleRate, 48000);
  assert.equal(b.samples.length, 24000);
});

test('an out-of-range rate is refused from the header alone, before the file is read whole or decoded', async () => {
  // Each file is extended to 2.2 GB with a sparse hole (no disk space): reading it whole would fail
  // (Node reads at most 2 GiB at once) or take gigabytes, so the rate message proves the header was
  // checked first. Before the fix: "cannot read the file (ERR_FS_FILE_TOO_LARGE)", or minutes of resampling.
  const small: [string, () => string, RegExp][] = [
    ['huge-4g.wav', () => file('huge-4g.wav', encodeWav(sine(4410, 44100), 4294967295)), outside('WAV header', 4294967295, true)],
    [
      'huge-800.aiff',
      () => {
        const p = path.join(dir, 'huge-800.aiff');
        run('sox', '-n', '-r', '800', p, 'synth', '0.5', 'sine', '100');
        return p;
      },
      outside('AIFF header', 800, true),
    ],
    [
      'huge-800.flac',
      () => {
        const p = path.join(dir, 'huge-800.flac');
        run('sox', '-n', '-r', '800', p, 'synth', '0.5', 'sine', '100');
        return p;
      },
      outside('FLAC header \\(STREAMINFO\\)', 800, false),
    ],
    [
      'huge-800.ogg',
      () => {
        const p = path.join(dir, 'huge-800.ogg');
        run('sox', '-n', '-r', '800', p, 'synth', '0.5', 'sine', '100');
        return p;
      },
      outside('Ogg Vorbis header', 800, false),
    ],
  ];
  for (const [, make, re] of small) {
    const p = make();
    fs.truncateSync(p, 2.2e9);
    try {
      const t0 = performance.now();
      await expectBad(p, re);
      assert.ok(performance.now() - t0 < 5000, `${p}: took ${Math.round(performance.now() - t0)} ms`);
    } finally {
      fs.rmSync(p);
    }
  }
});

/** A float WAV (format tag 3) with the given interleaved values, 32 or 64 bits. */
function floatWav(values: number[], o: { rate?: number; channels?: number; bits?: 32 | 64 } = {}): Uint8Array {
  const rate = o.rate ?? 44100;
  const ch = o.channels ?? 1;
  const bytes = (o.bits ?? 32) / 8;
  const out = new Uint8Array(44 + values.length * bytes);
  const dv = new DataView(out.buffer);
  const ascii = (at: number, s: string) => [...s].forEach((c, i) => (out[at + i] = c.charCodeAt(0)));
  ascii(0, 'RIFF');
  dv.setUint32(4, out.length - 8, true);
  ascii(8, 'WAVEfmt ');
  dv.setUint32(16, 16, true);
  dv.setUint16(20, 3, true);
  dv.setUint16(22, ch, true);
  dv.setUint32(24, rate, true);
  dv.setUint32(28, rate * ch * bytes, true);
  dv.setUint16(32, ch * bytes, true);
  dv.setUint16(34, bytes * 8, true);
  ascii(36, 'data');
  dv.setUint32(40, values.length * bytes, true);
  values.forEach((v, i) => (bytes === 4 ? dv.setFloat32(44 + 4 * i, v, true) : dv.setFloat64(44 + 8 * i, v, true)));
  return out;
}

/** The gain (dB) in a magnitude message, checked to bring `peak` to between -2 and -1 dBFS. */
function checkGain(message: string, peak: number): void {
  const m = /ffmpeg -i IN -af volume=(-\d+)dB OUT\.wav$/.exec(message);
  assert.ok(m, message);
  const after = 20 * Math.log10(peak) + Number(m[1]);
  assert.ok(after <= -1 && after > -2, `gain ${m[1]} dB leaves the peak at ${after.toFixed(2)} dBFS`);
}

test('float samples beyond ±1000 are refused with the value, its time and channel, the peak and the gain that fixes it', async () => {
  // Integer-scaled samples in a float file (a common writer bug): right channel at ±0.9 · 32767.
  const rate = 44100;
  const left = sine(rate, rate);
  const right = sine(rate, rate, 0.9 * 32767);
  const scaled = path.join(dir, 'int-scaled.wav');
  writeWav(scaled, [left, right], rate, { encoding: 'float32' });
  const first = right.findIndex((v) => Math.abs(v) > 1000);
  const peak = right.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const msg = await expectBad(
    scaled,
    new RegExp(
      `contains sample value ${Number(right[first].toFixed(1))} at ${(first / rate).toFixed(3)} s \\(channel 2\\), beyond the ±1000 \\(\\+60 dB over full scale\\) this program accepts, ` +
        `peak ${Number(peak.toFixed(1))}; the file is corrupt or wrongly scaled: re-export it, or normalise it to -1 dBFS with: ffmpeg -i IN -af volume=-\\d+dB OUT\\.wav$`,
    ),
    { probeToo: false },
  );
  checkGain(msg, peak);
  // Isolated huge values (corrupt data), 32 and 64-bit: the first one is named, 0.1 s in.
  for (const bits of [32, 64] as const) {
    const v = sine(rate, rate).map((x, i) => (i === 4410 ? 1e18 : i === 30000 ? -1e30 : x));
    const m = await expectBad(file(`spike${bits}.wav`, floatWav([...v], { bits })), /contains sample value 1\.00e\+18 at 0\.100 s \(channel 1\),.* peak 1\.00e\+30; .*volume=-60[12]dB OUT\.wav$/, {
      probeToo: false,
    });
    checkGain(m, Math.fround(1e30)); // samples are held as float32, whatever the file's width
    // probeAudio does not decode samples, so it reports the header facts.
    assert.equal((await probeAudio(file(`spike${bits}-probe.wav`, floatWav([...v], { bits })))).duration, 1);
  }
  // The bound is inclusive: ±1000 are accepted (and kept as they are), 1000.5 is not.
  const edge = await readAudio(file('edge.wav', floatWav([0, 1000, -1000, 1.5, 0], { bits: 64 })));
  assert.deepEqual([...edge.samples], [0, 1000, -1000, 1.5, 0]);
  assert.deepEqual(edge.warnings, []);
  await expectBad(file('over.wav', floatWav([0, 1000.5], { bits: 64 })), /contains sample value 1000\.5 at 0\.000 s \(channel 1\)/, { probeToo: false });
  // NaN anywhere is reported as NaN (corrupt, nothing to normalise), even after a huge value.
  await expectBad(file('huge-then-nan.wav', floatWav([2000, 0, NaN], { bits: 64 })), /contains NaN sample values \(first at 0\.000 s, channel 1\); the file is corrupt, re-export it$/, { probeToo: false });
});

test('AIFF-C float files are held to the same ±1000 bound', async () => {
  // A big-endian float 32 AIFF-C, built by hand (sox clips float input at ±1, so it cannot make one).
  const frames = 100;
  const be32 = (v: number) => [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
  const ascii = (t: string) => [...t].map((c) => c.charCodeAt(0));
  // COMM: channels 1, frames, 32 bits, 44100 Hz as 80-bit extended, compression fl32 + empty name.
  const comm = [0, 1, ...be32(frames), 0, 32, 0x40, 0x0e, 0xac, 0x44, 0, 0, 0, 0, 0, 0, ...ascii('fl32'), 0, 0];
  const data = new Uint8Array(frames * 4);
  const dv = new DataView(data.buffer);
  for (let i = 0; i < frames; i++) dv.setFloat32(4 * i, i === 50 ? 5e4 : 0.25, false);
  const body = [...ascii('AIFC'), ...ascii('COMM'), ...be32(comm.length), ...comm, ...ascii('SSND'), ...be32(8 + data.length), ...be32(0), ...be32(0), ...data];
  const p = file('loud.aifc', new Uint8Array([...ascii('FORM'), ...be32(body.length), ...body]));
  assert.equal((await probeAudio(p)).format, 'AIFF-C float 32-bit');
  await expectBad(p, /contains sample value 50000 at 0\.001 s \(channel 1\),.* peak 50000; .*volume=-95dB OUT\.wav$/, { probeToo: false });
});
