/**
 * Audio output against a device with a real-time clock: a private `jackd -d dummy`
 * server (no sound card needed) behind ALSA's `jack` PCM (libasound2-plugins), with
 * the `file` plugin in front of it capturing what PortAudio delivered. Here, unlike
 * the `null` device, the device consumes audio at 44.1 kHz, so pacing, stop and
 * underrun counting are observable. Debian packages: jackd2, libasound2-plugins.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { chirp, readFloatCapture, findStart, maxAbsDiff, matchWithSilentGaps, realtimeAllowed, pacedJackOutput } from './audio-out-helpers.ts';

const RATE = 44100;

const fx = pacedJackOutput('audio-paced', RATE);

test('live stream: a producer awaiting write() is paced by the device clock, plays contiguously, no underruns', async () => {
  // 1024-frame blocks, 4 queued (93 ms): the suite shares two cores with other test files.
  const s = await fx.out.openStream(RATE, { blockFrames: 1024, queueBlocks: 4 });
  assert.equal(s.available, true, s.available ? '' : s.reason);
  if (!s.available) return;
  const x = chirp(RATE, 1.5, 80, 6000, 0.5);
  const t0 = performance.now();
  for (let off = 0; off < x.length; off += 1024) await s.write(x.slice(off, off + 1024));
  const writeTime = (performance.now() - t0) / 1000;
  await s.close();
  const total = (performance.now() - t0) / 1000;
  assert.equal(s.underruns(), 0);
  // PortAudio's threads got SCHED_FIFO exactly when this machine allows real-time scheduling.
  assert.equal(s.realtime(), realtimeAllowed());
  // 1.5 s of audio: writes can only run ahead of the device by the queue (a few blocks), and closing plays the rest out.
  assert.ok(writeTime > 1.2, `writes finished in ${writeTime.toFixed(2)} s: not paced by the device`);
  assert.ok(total >= 1.45 && total < 3.5, `1.5 s of audio took ${total.toFixed(2)} s`);
  const cap = readFloatCapture(join(fx.dir, 'paced.raw'));
  const k = findStart(cap, x);
  assert.ok(k >= 0, 'streamed audio not found in the capture');
  assert.equal(maxAbsDiff(cap, k, x), 0);
  assert.equal(matchWithSilentGaps(cap, k, x), 0);
});

test('live stream: starving the device for 300 ms is counted as an underrun, and audio resumes in order', async () => {
  const s = await fx.out.openStream(RATE, { blockFrames: 512, queueBlocks: 3 });
  assert.equal(s.available, true);
  if (!s.available) return;
  const x = chirp(RATE, 1.5, 300, 900, 0.5);
  const half = Math.floor(x.length / 2 / 512) * 512;
  for (let off = 0; off < half; off += 512) await s.write(x.slice(off, off + 512));
  // Normally 0 here; a heavily loaded machine can make the device underrun on its own already.
  const before = s.underruns();
  await new Promise((r) => setTimeout(r, 300));
  for (let off = half; off < x.length; off += 512) await s.write(x.slice(off, off + 512));
  await s.close();
  assert.ok(s.underruns() >= before + 1, `underruns ${before} before the 300 ms without audio, ${s.underruns()} after`);
  // Every sample arrives, in order; ALSA's xrun recovery may only insert silence.
  const cap = readFloatCapture(join(fx.dir, 'paced.raw'));
  const k = findStart(cap, x);
  assert.ok(k >= 0, 'streamed audio not found in the capture');
  const gaps = matchWithSilentGaps(cap, k, x);
  assert.ok(gaps >= 1 && gaps <= 3, `silent gaps ${gaps}`);
});

test('play + stop: a 5 s render stops within a fraction of a second and reports its position', async () => {
  const x = chirp(RATE, 5, 100, 200, 0.3);
  const h = await fx.out.play(x, RATE);
  assert.equal(h.available, true, h.available ? '' : h.reason);
  if (!h.available) return;
  // Timed from the open device: starting the output process can take seconds on a loaded machine.
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, 600));
  const pos = h.position();
  assert.ok(pos > 0.1 && pos < 1.0, `position after 0.6 s: ${pos}`);
  h.stop();
  const r = await h.done;
  const elapsed = (performance.now() - t0) / 1000;
  assert.equal(r.status, 'stopped');
  assert.ok(elapsed < 2, `stop took until ${elapsed.toFixed(2)} s`);
  assert.ok(h.position() < 1.5);
});

test('a render plays in real time and position() advances to its duration', async () => {
  const x = chirp(RATE, 1, 400, 4000, 0.5);
  const h = await fx.out.play(x, RATE);
  assert.equal(h.available, true);
  if (!h.available) return;
  const t0 = performance.now(); // the device is open (see above)
  const seen: number[] = [];
  const timer = setInterval(() => seen.push(h.position()), 100);
  const r = await h.done;
  clearInterval(timer);
  const elapsed = (performance.now() - t0) / 1000;
  assert.equal(r.status, 'finished');
  // Paced, not written at once (unpaced, the file plugin takes a few ms); the lower bound allows for the reply that
  // opened the device reaching this thread late on a loaded machine, after playback began.
  assert.ok(elapsed >= 0.8 && elapsed < 3, `1 s render took ${elapsed.toFixed(2)} s`);
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i] >= seen[i - 1]);
  assert.equal(h.position(), 1);
  const cap = readFloatCapture(join(fx.dir, 'paced.raw'));
  const k = findStart(cap, x);
  assert.ok(k >= 0);
  assert.equal(maxAbsDiff(cap, k, x), 0);
});

test('stop() of the output closes a live stream at once: a waiting write resolves, later writes are ignored', async () => {
  const s = await fx.out.openStream(RATE, { blockFrames: 512, queueBlocks: 3 });
  assert.equal(s.available, true);
  if (!s.available) return;
  const block = chirp(RATE, 512 / RATE, 440, 440, 0.2);
  for (let i = 0; i < 20; i++) await s.write(block);
  // Fill beyond the high-water mark: this write waits for the device...
  const pending = s.write(chirp(RATE, 0.5, 440, 440, 0.2));
  const t0 = performance.now();
  fx.out.stop();
  // ...and is released by the stop instead of after 0.5 s of playback.
  await pending;
  assert.ok(performance.now() - t0 < 400, `write resolved after ${(performance.now() - t0).toFixed(0)} ms`);
  const before = s.position();
  await s.write(block);
  await s.close();
  assert.equal(s.position(), before);
  // The output is still usable afterwards.
  const h = await fx.out.play(chirp(RATE, 0.2), RATE);
  assert.equal(h.available, true, h.available ? '' : h.reason);
  if (h.available) assert.equal((await h.done).status, 'finished');
});
