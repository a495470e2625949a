/**
 * End-to-end audio output through the real PortAudio path (naudiodon in the child
 * process, bundled PortAudio, the system's alsa-lib), with ALSA's `file` plugin as
 * the device so the PCM PortAudio delivered can be compared with what was played.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAudioOutput, NO_AUDIO_DEVICE } from '../src/io/audio-out.ts';
import { chirp, writeAsoundConf, readFloatCapture, readS16Capture, findStart, maxAbsDiff, allZero } from './audio-out-helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'lts-audio-out-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const conf = writeAsoundConf(dir, 'default');
const out = createAudioOutput({ env: { ALSA_CONFIG_PATH: conf } });
after(() => out.close());

test('lists the configured ALSA devices with ids, channels and default rate; the default is marked', async () => {
  const devices = await out.listDevices();
  const names = devices.map((d) => d.name).sort();
  assert.deepEqual(names, ['default', 'lts_s16']);
  for (const d of devices) {
    assert.equal(d.hostApi, 'ALSA');
    assert.ok(d.maxOutputChannels >= 1);
    assert.ok(d.defaultSampleRate >= 8000);
  }
  assert.deepEqual(devices.filter((d) => d.isDefault).map((d) => d.name), ['default']);
  assert.equal(new Set(devices.map((d) => d.id)).size, 2);
  assert.deepEqual(out.lastStatus, { available: true });
});

test('play: 1 s chirp at 44.1 kHz arrives bit-exact at the default device (float32), only silence around it', async () => {
  const x = chirp(44100, 1);
  const h = await out.play(x, 44100);
  assert.equal(h.available, true, h.available ? '' : h.reason);
  if (!h.available) return;
  assert.equal(h.duration, 1);
  const r = await h.done;
  assert.deepEqual(r, { status: 'finished', reason: undefined });
  assert.equal(h.position(), 1);
  const cap = readFloatCapture(join(dir, 'default.raw'));
  const k = findStart(cap, x);
  assert.ok(k >= 0, `played chirp not found in the ${cap.length}-sample capture`);
  assert.equal(maxAbsDiff(cap, k, x), 0);
  assert.ok(allZero(cap, 0, k), 'non-silence before the render');
  assert.ok(allZero(cap, k + x.length, cap.length), 'non-silence after the render');
  assert.ok(cap.length - k - x.length < 2048 * 3, `too much trailing padding: ${cap.length - k - x.length}`);
});

test('play by device id: the plug device converts to S16_LE; the capture matches within 1 LSB', async () => {
  const devices = await out.listDevices();
  const s16 = devices.find((d) => d.name === 'lts_s16');
  assert.ok(s16);
  const before = readFloatCapture(join(dir, 'default.raw')).length;
  const x = chirp(44100, 0.5, 200, 5000, 0.5);
  const h = await out.play(x, 44100, { deviceId: s16.id });
  assert.equal(h.available, true);
  if (!h.available) return;
  assert.equal(h.deviceId, s16.id);
  assert.equal((await h.done).status, 'finished');
  const cap = readS16Capture(join(dir, 's16.raw'));
  const k = findStart(cap, x, (c, p) => Math.abs(c - p * 32768) <= 1);
  assert.ok(k >= 0, 'played chirp not found in the S16 capture');
  assert.ok(maxAbsDiff(cap, k, x, 32768) <= 1);
  assert.ok(allZero(cap, 0, k) && allZero(cap, k + x.length, cap.length));
  // Nothing went to the default device.
  assert.equal(readFloatCapture(join(dir, 'default.raw')).length, before);
});

test('stream: blocks of odd sizes are played contiguously in order, without underruns, last block padded', async () => {
  const s = await out.openStream(44100, { blockFrames: 256, queueBlocks: 3 });
  assert.equal(s.available, true, s.available ? '' : s.reason);
  if (!s.available) return;
  assert.ok(Math.abs(s.latency - (256 * 3) / 44100) < 1e-9);
  const x = chirp(44100, 0.75, 50, 3000, 0.4);
  let off = 0;
  const sizes = [100, 333, 1, 2048, 777, 256, 4000];
  for (let i = 0; off < x.length; i++) {
    const n = Math.min(sizes[i % sizes.length], x.length - off);
    await s.write(x.slice(off, off + n));
    off += n;
    assert.ok(s.buffered() >= 0);
  }
  await s.close();
  assert.equal(s.underruns(), 0);
  assert.equal(s.position(), Math.ceil(x.length / 256) * 256 / 44100);
  const cap = readFloatCapture(join(dir, 'default.raw'));
  // The capture file is rewritten per stream: the chirp must be the only content apart from silence.
  const k = findStart(cap, x);
  assert.ok(k >= 0, 'streamed audio not found in the capture');
  assert.equal(maxAbsDiff(cap, k, x), 0);
  assert.ok(allZero(cap, 0, k) && allZero(cap, k + x.length, cap.length));
  // Writing after close is ignored, not a crash.
  await s.write(new Float32Array(10));
});

test('a device id that does not exist is reported, naming the valid devices', async () => {
  const h = await out.play(new Float32Array(100).fill(0.1), 44100, { deviceId: 99 });
  assert.equal(h.available, false);
  if (h.available) return;
  assert.match(h.reason, /^audio device 99 does not exist; choose one of: \d+ \w+, \d+ \w+$/);
});

test('bad arguments give one-line reasons, not throws', async () => {
  const a = await out.play(new Float32Array(10), Number.NaN);
  assert.equal(a.available, false);
  if (!a.available) assert.match(a.reason, /^sample rate must be a whole number of Hz/);
  const b = await out.play(new Float32Array(9), 44100, { channels: 2 });
  assert.equal(b.available, false);
  if (!b.available) assert.match(b.reason, /not a multiple of 2 channels/);
  const c = await out.openStream(44100, { blockFrames: 3 });
  assert.equal(c.available, false);
  if (!c.available) assert.match(c.reason, /^blockFrames must be an integer/);
});

test('an empty ALSA configuration (PortAudio aborts while listing devices) reports "no audio device" cleanly', async () => {
  const empty = createAudioOutput({ env: { ALSA_CONFIG_PATH: writeAsoundConf(dir, 'empty') } });
  try {
    const st = await empty.status();
    assert.equal(st.available, false);
    if (!st.available) {
      assert.ok(st.reason.startsWith(NO_AUDIO_DEVICE), st.reason);
      assert.doesNotMatch(st.reason, /\n/);
    }
    assert.deepEqual(await empty.listDevices(), []);
    const h = await empty.play(chirp(44100, 0.1), 44100);
    assert.equal(h.available, false);
    const s = await empty.openStream(44100);
    assert.equal(s.available, false);
    assert.equal(empty.lastStatus?.available, false);
  } finally {
    empty.close();
  }
});

test('a default device that cannot be opened (no such card) reports "no audio device"', async () => {
  const broken = createAudioOutput({ env: { ALSA_CONFIG_PATH: writeAsoundConf(dir, 'broken') } });
  try {
    const h = await broken.play(chirp(44100, 0.1), 44100);
    assert.equal(h.available, false);
    // PortAudio probes each PCM by opening it, so the unopenable default is not listed at all.
    if (!h.available) assert.equal(h.reason, NO_AUDIO_DEVICE);
    assert.ok(!existsSync(join(dir, 'broken.raw')));
  } finally {
    broken.close();
  }
});

test('an app that never calls close() still exits: the idle child does not keep it alive', async () => {
  const script = join(dir, 'forget-close.mts');
  const src = new URL('../src/io/audio-out.ts', import.meta.url).href;
  writeFileSync(script, `import { createAudioOutput } from ${JSON.stringify(src)};
const out = createAudioOutput({ env: { ALSA_CONFIG_PATH: ${JSON.stringify(conf)} } });
const h = await out.play(new Float32Array(4410).fill(0.25), 44100);
if (!h.available) { console.log('unavailable ' + h.reason); process.exit(3); }
const r = await h.done;
console.log('played ' + r.status);
`);
  const root = fileURLToPath(new URL('..', import.meta.url));
  const t0 = performance.now();
  const res = spawnSync(process.execPath, ['--import', 'tsx', script], { cwd: root, encoding: 'utf8', timeout: 15000 });
  assert.equal(res.status, 0, res.stderr);
  assert.equal(res.stdout.trim(), 'played finished');
  assert.ok(performance.now() - t0 < 10000);
});
