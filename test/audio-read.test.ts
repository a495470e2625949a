import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { readAudio, probeAudio, isAudioFile, AUDIO_EXTENSIONS } from '../src/io/audio.ts';
import { writeWav } from '../src/io/wav.ts';
import { createRng } from '../src/dsp/rng.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lts-read-'));
const RATE = 44100;
const N = RATE; // 1 s

/** Source: left 440 Hz at 0.5, right 1000 Hz at 0.3, quantised to 16 bits so every lossless format holds it exactly. */
const left = new Float32Array(N).map((_, i) => Math.round(0.5 * Math.sin((2 * Math.PI * 440 * i) / RATE) * 32768) / 32768 + 0); // + 0 turns -0 into 0
const right = new Float32Array(N).map((_, i) => Math.round(0.3 * Math.sin((2 * Math.PI * 1000 * i) / RATE) * 32768) / 32768 + 0); // + 0 turns -0 into 0
const srcWav = path.join(dir, 'src.wav');
writeWav(srcWav, [left, right], RATE);

function run(cmd: string, ...args: string[]): void {
  execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Amplitude of the component at `freq` Hz (least-squares fit of a sine and cosine), over x[from..to). */
function toneAmp(x: Float32Array, rate: number, freq: number, from: number, to: number): number {
  let sc = 0, ss = 0, cc = 0, sn = 0, cs = 0;
  for (let i = from; i < to; i++) {
    const w = (2 * Math.PI * freq * i) / rate;
    const s = Math.sin(w), c = Math.cos(w);
    sn += x[i] * s;
    cs += x[i] * c;
    ss += s * s;
    cc += c * c;
    sc += s * c;
  }
  const det = ss * cc - sc * sc;
  const a = (sn * cc - cs * sc) / det;
  const b = (cs * ss - sn * sc) / det;
  return Math.hypot(a, b);
}

test('FLAC (16-bit stereo and 24-bit mono) decodes to exactly the source samples; probe reads STREAMINFO', async () => {
  const f16 = path.join(dir, 'a.flac');
  run('sox', srcWav, f16);
  const l = await readAudio(f16, { channel: 0 });
  const r = await readAudio(f16, { channel: 1 });
  assert.equal(l.format, 'FLAC');
  assert.equal(l.channels, 2);
  assert.equal(l.sourceSampleRate, RATE);
  assert.deepEqual(l.samples, left);
  assert.deepEqual(r.samples, right);
  assert.deepEqual(await probeAudio(f16), { duration: 1, sampleRate: RATE, channels: 2, format: 'FLAC' });
  const f24 = path.join(dir, 'b.flac');
  run('sox', srcWav, '-b', '24', '-r', '96000', '-c', '1', f24); // sox resamples and mixes: compare with its own WAV output
  const ref24 = path.join(dir, 'b.wav');
  run('sox', f24, ref24);
  const a = await readAudio(f24);
  const b = await readAudio(ref24);
  assert.equal(a.sampleRate, 96000);
  assert.match(b.format, /PCM 24-bit/);
  assert.deepEqual(a.samples, b.samples);
});

test('Ogg Vorbis, MP3 and Ogg Opus decode with the right rate, channels, length and tones', async () => {
  const ogg = path.join(dir, 'a.ogg');
  run('sox', srcWav, ogg);
  const mp3 = path.join(dir, 'a.mp3');
  run('lame', '--quiet', '-b', '192', srcWav, mp3);
  const opus = path.join(dir, 'a.opus');
  run('opusenc', '--quiet', '--bitrate', '128', srcWav, opus);
  const cases: [string, string, number, number][] = [
    // file, format, decoded rate, tolerance on length in samples (lame's LAME tag lets the decoder drop
    // the encoder delay and padding, so even MP3 comes back at exactly the source length)
    [ogg, 'Ogg Vorbis', RATE, 0],
    [mp3, 'MP3', RATE, 0],
    [opus, 'Ogg Opus', 48000, 0],
  ];
  for (const [file, format, rate, slack] of cases) {
    const l = await readAudio(file, { channel: 0 });
    const r = await readAudio(file, { channel: 1 });
    assert.equal(l.format, format);
    assert.equal(l.sampleRate, rate);
    assert.equal(l.channels, 2);
    const want = Math.round(rate * 1);
    assert.ok(l.samples.length >= want && l.samples.length <= want + slack, `${format}: ${l.samples.length} samples`);
    // Lossy codecs keep the tones: left 440 Hz at 0.5 (and little 1000 Hz), right 1000 Hz at 0.3.
    const from = Math.round(rate * 0.2), to = Math.round(rate * 0.8);
    assert.ok(Math.abs(toneAmp(l.samples, rate, 440, from, to) - 0.5) < 0.02, `${format} left 440 Hz`);
    assert.ok(toneAmp(l.samples, rate, 1000, from, to) < 0.01, `${format} left has no 1000 Hz`);
    assert.ok(Math.abs(toneAmp(r.samples, rate, 1000, from, to) - 0.3) < 0.02, `${format} right 1000 Hz`);
    const p = await probeAudio(file);
    assert.equal(p.format, format);
    assert.equal(p.sampleRate, rate);
    assert.equal(p.channels, 2);
    assert.ok(Math.abs(p.duration - l.samples.length / rate) <= slack / rate + 1e-9, `${format} probe duration ${p.duration}`);
    assert.ok(Math.abs(p.duration - 1) <= slack / rate + 1e-9);
  }
});

test('MP3 with a padded ID3v2 tag in front is detected by content and decoded', async () => {
  const mono = path.join(dir, 'mono.wav');
  writeWav(mono, left, RATE);
  const tagged = path.join(dir, 'tagged.mp3');
  run('lame', '--quiet', '--add-id3v2', '--pad-id3v2-size', '300', '--tt', 'A title', mono, tagged);
  const head = fs.readFileSync(tagged).subarray(0, 3).toString('latin1');
  assert.equal(head, 'ID3');
  const renamed = path.join(dir, 'tagged.bin'); // the extension plays no part in detection
  fs.copyFileSync(tagged, renamed);
  const a = await readAudio(renamed);
  assert.equal(a.format, 'MP3');
  assert.equal(a.channels, 1);
  // lame scales this mono file slightly; compare with sox's independent MP3 decoder (libmad).
  const soxDecoded = path.join(dir, 'tagged-sox.wav');
  run('sox', tagged, '-e', 'floating-point', '-b', '32', soxDecoded);
  const ref = await readAudio(soxDecoded);
  const amp = toneAmp(a.samples, RATE, 440, 8820, 35280);
  assert.ok(amp > 0.4, `440 Hz amplitude ${amp}`);
  assert.ok(Math.abs(amp - toneAmp(ref.samples, RATE, 440, 8820, 35280)) < 2e-3, `440 Hz amplitude ${amp} differs from sox's decode`);
  const p = await probeAudio(renamed);
  assert.equal(p.channels, 1);
  assert.ok(Math.abs(p.duration - a.duration) < 1e-9, `probe ${p.duration} vs decoded ${a.duration}`);
});

test('AIFF and AIFF-C (sox-made): signed 8, 16, 24, 32-bit, little-endian sowt and float decode to the exact source values', async () => {
  // Source: 16-bit values that are multiples of 256, so the 8-bit file holds them exactly too.
  const ch = 2;
  const frames = 500;
  const v = new Int16Array(frames * ch).map((_, i) => ((((i * 7919) % 256) - 128) * 256));
  v[0] = -32768;
  v[1] = 32512;
  const raw = path.join(dir, 'aiff-src.raw');
  fs.writeFileSync(raw, new Uint8Array(v.buffer));
  const cases: [string, string[], RegExp][] = [
    ['s8.aiff', ['-b', '8'], /^AIFF PCM 8-bit$/],
    ['s16.aiff', ['-b', '16'], /^AIFF PCM 16-bit$/],
    ['s24.aiff', ['-b', '24'], /^AIFF PCM 24-bit$/],
    ['s32.aiff', ['-b', '32'], /^AIFF PCM 32-bit$/],
    ['f32.aifc', ['-e', 'floating-point', '-b', '32'], /^AIFF-C float 32-bit$/],
    ['f64.aifc', ['-e', 'floating-point', '-b', '64'], /^AIFF-C float 64-bit$/],
  ];
  for (const [name, args, fmt] of cases) {
    const f = path.join(dir, name);
    run('sox', '-D', '-t', 'raw', '-r', '22050', '-c', String(ch), '-e', 'signed-integer', '-b', '16', '-L', raw, ...args, f);
    for (let c = 0; c < ch; c++) {
      const a = await readAudio(f, { channel: c });
      assert.match(a.format, fmt, name);
      assert.equal(a.sampleRate, 22050);
      assert.equal(a.channels, ch);
      assert.equal(a.samples.length, frames);
      for (let i = 0; i < frames; i++) if (a.samples[i] !== v[i * ch + c] / 32768) assert.fail(`${name} ch ${c} frame ${i}: ${a.samples[i]} vs ${v[i * ch + c] / 32768}`);
    }
    const p = await probeAudio(f);
    assert.deepEqual({ ...p, format: '' }, { duration: frames / 22050, sampleRate: 22050, channels: ch, format: '' });
  }
  // Little-endian AIFF-C ('sowt'), hand-patched from a big-endian 16-bit AIFF-C: swap every sample's bytes.
  const be = path.join(dir, 'be.aifc');
  run('sox', '-D', '-t', 'raw', '-r', '22050', '-c', String(ch), '-e', 'signed-integer', '-b', '16', '-L', raw, be);
  const b = fs.readFileSync(be);
  const commAt = b.indexOf('COMM');
  assert.equal(b.toString('latin1', commAt + 26, commAt + 30), 'NONE');
  b.write('sowt', commAt + 26, 'latin1');
  const ssndAt = b.indexOf('SSND');
  const start = ssndAt + 16 + b.readUInt32BE(ssndAt + 8);
  for (let i = start; i + 1 < start + frames * ch * 2; i += 2) [b[i], b[i + 1]] = [b[i + 1], b[i]];
  const le = path.join(dir, 'le.aifc');
  fs.writeFileSync(le, b);
  const a = await readAudio(le, { channel: 1 });
  assert.equal(a.format, 'AIFF-C PCM 16-bit little-endian');
  for (let i = 0; i < frames; i++) assert.equal(a.samples[i], v[i * ch + 1] / 32768);
});

test('readAudio mixes channels to mono and resamples to the requested rate', async () => {
  const mix = await readAudio(srcWav);
  assert.equal(mix.channels, 2);
  assert.equal(mix.duration, 1);
  for (let i = 0; i < N; i += 97) assert.ok(Math.abs(mix.samples[i] - (left[i] + right[i]) / 2) < 1e-7);
  const r16 = await readAudio(srcWav, { sampleRate: 16000 });
  assert.equal(r16.sampleRate, 16000);
  assert.equal(r16.sourceSampleRate, RATE);
  assert.equal(r16.samples.length, 16000);
  assert.equal(r16.duration, 1);
  const from = 3200, to = 12800;
  assert.ok(Math.abs(toneAmp(r16.samples, 16000, 440, from, to) - 0.25) < 1e-3);
  assert.ok(Math.abs(toneAmp(r16.samples, 16000, 1000, from, to) - 0.15) < 1e-3);
  await assert.rejects(readAudio(srcWav, { sampleRate: 0 }), RangeError);
  await assert.rejects(readAudio(srcWav, { channel: 2 }), /has 2 channel\(s\); choose channel 0\.\.1/);
});

test('isAudioFile and AUDIO_EXTENSIONS cover the decodable formats, case-insensitively', () => {
  for (const n of ['a.wav', 'B.WAV', 'c.flac', 'd.mp3', 'e.ogg', 'f.opus', 'g.oga', 'h.Wave', 'i.rf64']) assert.ok(isAudioFile(n), n);
  for (const n of ['a.txt', 'wav', 'a.wav.bak', 'a.mid', 'a']) assert.ok(!isAudioFile(n), n);
  assert.ok(AUDIO_EXTENSIONS.every((e) => e.startsWith('.') && e === e.toLowerCase()));
});

// ---- damaged and cut-off compressed files: decode what is there, and say so ----

/** 2 s mono source at 44.1 kHz, 16-bit exact, with a slowly varying amplitude (so every frame differs). */
const dmgRate = 44100;
const dmgSrc = new Float32Array(2 * dmgRate).map(
  (_, i) => Math.round(0.4 * Math.sin((2 * Math.PI * 330 * i) / dmgRate) * (1 + 0.5 * Math.sin(i / 5000)) * 32767) / 32768 + 0,
);
const dmgWav = path.join(dir, 'dmg-src.wav');
writeWav(dmgWav, dmgSrc, dmgRate);

/** Copy `src` to `name` with ~15% of the bytes in its middle third replaced by seeded random bytes (as QA's corpus did). */
function damaged(src: string, name: string): string {
  const b = new Uint8Array(fs.readFileSync(src));
  const r = createRng(7);
  for (let i = Math.floor(b.length / 3); i < Math.floor((2 * b.length) / 3); i++) if (r() < 0.15) b[i] = Math.floor(r() * 256);
  const p = path.join(dir, name);
  fs.writeFileSync(p, b);
  return p;
}

/** Copy the first `frac` of `src` to `name`. */
function cut(src: string, name: string, frac: number): string {
  const b = fs.readFileSync(src);
  const p = path.join(dir, name);
  fs.writeFileSync(p, b.subarray(0, Math.floor(b.length * frac)));
  return p;
}

/** The single warning of `p` (path prefix removed), checked against `re`, whose first group must be the decoded duration. */
async function warned(p: string, re: RegExp): Promise<{ samples: Float32Array; warning: string }> {
  const a = await readAudio(p);
  assert.equal(a.warnings.length, 1, `${p}: ${JSON.stringify(a.warnings)}`);
  const w = a.warnings[0];
  assert.ok(w.startsWith(`${p}: `) && !w.includes('\n'), w);
  const m = re.exec(w.slice(p.length + 2));
  assert.ok(m, `${w}\ndoes not match ${re}`);
  assert.equal(m[1], (a.samples.length / a.sampleRate).toFixed(2), w);
  assert.ok(a.samples.length > 0);
  return { samples: a.samples, warning: w };
}

/** The end of every compressed-file warning; captures the decoded duration. */
const FIX = '; using the (\\d\\.\\d\\d) s that decoded \\(re-export it to silence this\\)$';

test('a damaged or cut-off FLAC decodes the frames before the damage and warns against STREAMINFO', async () => {
  const flac = path.join(dir, 'dmg.flac');
  run('sox', dmgWav, flac);
  assert.deepEqual((await readAudio(flac)).warnings, []);
  const re = new RegExp(`^the FLAC data is damaged or cut off: its header \\(STREAMINFO\\) promises 2\\.00 s, only \\d\\.\\d\\d s could be decoded${FIX}`);
  for (const p of [damaged(flac, 'dmg-bad.flac'), cut(flac, 'dmg-cut.flac', 0.6)]) {
    const { samples } = await warned(p, re);
    assert.ok(samples.length < dmgSrc.length);
    // FLAC is lossless: what decoded is exactly the start of the source.
    assert.deepEqual(samples, dmgSrc.subarray(0, samples.length));
  }
});

test('a damaged or cut-off MP3 warns with what its Xing header or frame headers promise, the junk between frames and a cut last frame', async () => {
  const mp3 = path.join(dir, 'dmg.mp3');
  run('lame', '--quiet', dmgWav, mp3);
  assert.deepEqual((await readAudio(mp3)).warnings, []);
  // Random bytes over the middle third: frames lost, junk between the survivors.
  await warned(
    damaged(mp3, 'dmg-bad.mp3'),
    new RegExp(`^the MP3 data is damaged or cut off: its Xing header promises 2\\.00 s, only \\d\\.\\d\\d s could be decoded, \\d+ bytes between frames are not MP3 frames${FIX}`),
  );
  // Cut inside a frame: the Xing header still says 2 s.
  await warned(
    cut(mp3, 'dmg-cut.mp3', 0.6),
    new RegExp(`^the MP3 data is damaged or cut off: its Xing header promises 2\\.00 s, only \\d\\.\\d\\d s could be decoded, its last frame is cut off${FIX}`),
  );
  // Without a Xing header (lame -t) only the cut last frame gives it away.
  const bare = path.join(dir, 'dmg-bare.mp3');
  run('lame', '--quiet', '-t', dmgWav, bare);
  assert.deepEqual((await readAudio(bare)).warnings, []);
  await warned(cut(bare, 'dmg-bare-cut.mp3', 0.6), new RegExp(`^the MP3 data is damaged or cut off: its last frame is cut off${FIX}`));
  // 5000 zero bytes spliced into the middle: mpg123 fails to resynchronise and prints errors, which are counted.
  const b = fs.readFileSync(mp3);
  const holed = path.join(dir, 'dmg-zeros.mp3');
  fs.writeFileSync(holed, Buffer.concat([b.subarray(0, b.length >> 1), Buffer.alloc(5000), b.subarray(b.length >> 1)]));
  const z = await readAudio(holed);
  assert.equal(z.warnings.length, 1, JSON.stringify(z.warnings));
  assert.ok(z.warnings[0].startsWith(`${holed}: `), z.warnings[0]);
  const junk =
    /^the MP3 data is damaged or cut off: (?:.*, )?(\d+) bytes between frames are not MP3 frames, the decoder reported \d+ errors? \(first: "mpg123-decoder: [^"]*"\); using the \d\.\d\d s that decoded \(re-export it to silence this\)$/.exec(
      z.warnings[0].slice(holed.length + 2),
    );
  assert.ok(junk, z.warnings[0]);
  assert.ok(Number(junk[1]) >= 5000 && Number(junk[1]) < 5000 + 1500, `junk ${junk[1]} bytes, 5000 inserted`);
});

test('a damaged or cut-off Ogg Opus file warns with what its last page promises', async () => {
  const opus = path.join(dir, 'dmg.opus');
  run('opusenc', '--quiet', dmgWav, opus);
  assert.deepEqual((await readAudio(opus)).warnings, []);
  const re = new RegExp(`^the Ogg Opus data is damaged or cut off: its last page promises (?:2\\.00|1\\.\\d\\d) s, only \\d\\.\\d\\d s could be decoded${FIX}`);
  for (const p of [damaged(opus, 'dmg-bad.opus'), cut(opus, 'dmg-cut.opus', 0.6)]) await warned(p, re);
});

test('healthy files give no warnings: every WAV in data/, and fresh FLAC, MP3 (CBR, VBR, no Xing tag), Ogg Vorbis and Opus encodes at several rates', async () => {
  const root = path.join(import.meta.dirname, '..', 'data');
  const shipped = ['demo', 'bench'].flatMap((d) => fs.readdirSync(path.join(root, d)).filter((f) => f.endsWith('.wav')).map((f) => path.join(root, d, f)));
  assert.ok(shipped.length >= 10, `found ${shipped.length} files in data/`);
  const encoded: string[] = [];
  for (const [rate, ch] of [[8000, 1], [22050, 2], [44100, 1], [48000, 2]]) {
    const w = path.join(dir, `ok-${rate}-${ch}.wav`);
    run('sox', '-n', '-r', String(rate), '-c', String(ch), '-b', '16', w, 'synth', '1.37', 'sine', '300', 'sine', '1000', 'vol', '0.4');
    const base = w.slice(0, -4);
    run('lame', '--quiet', w, `${base}-cbr.mp3`);
    run('lame', '--quiet', '-V', '2', w, `${base}-vbr.mp3`);
    run('lame', '--quiet', '-t', w, `${base}-bare.mp3`);
    run('sox', w, `${base}.flac`);
    run('sox', w, `${base}.ogg`);
    run('opusenc', '--quiet', w, `${base}.opus`);
    encoded.push(w, `${base}-cbr.mp3`, `${base}-vbr.mp3`, `${base}-bare.mp3`, `${base}.flac`, `${base}.ogg`, `${base}.opus`);
  }
  for (const f of [...shipped, ...encoded]) assert.deepEqual((await readAudio(f)).warnings, [], f);
});
