/**
 * The OSC server speaks the original LTS protocol to a client the project did not write: liblo's
 * oscsend sends (as the Max patch would), oscdump receives the replies, over loopback. The model is
 * a really trained tiny STFT model (test/helpers/tiny-model.ts); this machine has no sound card, so
 * playback reports that and the server keeps going.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { mkdtempSync, mkdirSync, copyFileSync, readFileSync, readdirSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { OscServer } from '../src/engine/osc-server.ts';
import { createAudioOutput } from '../src/io/audio-out.ts';
import { writeAsoundConf } from './audio-out-helpers.ts';
import { parseCurveSpec, sampleCurve } from '../src/engine/curve.ts';
import { parseWav } from '../src/io/wav.ts';
import { makeTinyModel, type TinyModel } from './helpers/tiny-model.ts';
import { freeUdpPort, oscsend, OscDump } from './osc-helpers.ts';

let tiny: TinyModel;
let server: OscServer;
let dump: OscDump;
let port: number;
let work: string;
let renders: string;
let importDir: string;

before(async () => {
  tiny = await makeTinyModel();
  work = mkdtempSync(join(tmpdir(), 'lts-osc-'));
  // the original's dataset layout: audio/ beside npy/
  mkdirSync(join(work, 'dataset', 'audio'), { recursive: true });
  mkdirSync(join(work, 'dataset', 'npy'));
  copyFileSync(tiny.fileA, join(work, 'dataset', 'audio', 'low.wav'));
  copyFileSync(tiny.fileB, join(work, 'dataset', 'audio', 'high.wav'));
  mkdirSync(join(work, 'saved'));
  renders = join(work, 'renders');
  importDir = join(work, 'imported');
  const replyPort = await freeUdpPort();
  dump = new OscDump(replyPort);
  await new Promise((r) => setTimeout(r, 300)); // let oscdump bind before the start-up messages
  server = await OscServer.start({ port: 0, replyPort, rendersDir: renders, importDir });
  port = server.local.port;
});

after(async () => {
  await server?.close();
  dump?.close();
});

test('start-up: device list and /audio/io are sent, then the server waits for a model', async () => {
  const clear = await dump.waitFor((d) => d.address === '/audio/devicelist');
  assert.equal(clear.value, 'clear');
  await dump.report(/No audio output: no audio device/);
  const io = await dump.waitFor((d) => d.address === '/audio/io');
  assert.equal(io.types, 's');
  assert.match(String(io.value), /^-?\d+ -?\d+$/);
  await dump.report(/Waiting osc message to load a model/);
});

test('/test/connection answers with a /report', async () => {
  const from = dump.received.length;
  oscsend(port, '/test/connection');
  await dump.report(/^Connection works\. #1$/, from);
});

test('setters echo their value on the reply address and confirm through /report', async () => {
  let from = dump.received.length;
  oscsend(port, '/output/gf_iter', 'i', '8');
  const it = await dump.waitFor((d) => d.address === '/output/gf_iter', from);
  assert.deepEqual([it.types, it.value], ['i', 8]);
  await dump.report(/iterations is set to: 8/, from);

  from = dump.received.length;
  oscsend(port, '/output/normalize', 'i', '1');
  const nz = await dump.waitFor((d) => d.address === '/output/normalize', from);
  assert.deepEqual([nz.types, nz.value], ['i', 1]);
  await dump.report(/normalization is on/, from);

  from = dump.received.length;
  oscsend(port, '/batch_size/set', 'f', '32'); // a Max number box may send a float
  const bs = await dump.waitFor((d) => d.address === '/model/batch_size', from);
  assert.deepEqual([bs.types, bs.value], ['i', 32]);
  await dump.report(/Batch size is set to: 32/, from);
  assert.equal(server.state().batchSize, 32);
});

test('unknown addresses, wrong types and malformed packets get a /report with the reason', async () => {
  let from = dump.received.length;
  oscsend(port, '/no/such/thing', 'i', '1');
  await dump.report(/Unknown OSC address \/no\/such\/thing; lts osc understands .*\/interpolate_two\/generate/, from);

  from = dump.received.length;
  oscsend(port, '/output/gf_iter', 's', 'many');
  await dump.report(/\/output\/gf_iter: expected the number of phase iterations as a whole number, got s "many"/, from);

  from = dump.received.length;
  oscsend(port, '/sound/set_phase_iter', 'i', '65');
  await dump.report(/set_phase_iter: the number of phase iterations 65 is outside 0\.\.64/, from);

  from = dump.received.length;
  oscsend(port, '/output/normalize', 'i', '2');
  await dump.report(/\/output\/normalize: expected 0 or 1/, from);

  from = dump.received.length;
  oscsend(port, '/set_alfa', 'fsf', '0', 'x', '1');
  await dump.report(/\/set_alfa: value 2 is s "x", not a number/, from);

  from = dump.received.length;
  oscsend(port, '/interpolate_two/generate', 'ff', '1', '0');
  await dump.report(/generate needs 3 arguments \(got 2\)/, from);

  from = dump.received.length;
  oscsend(port, '/interpolate_two/generate', 'fff', '0.5', '0', '0');
  await dump.report(/Cannot generate: no model loaded/, from);

  from = dump.received.length;
  const junk = dgram.createSocket('udp4');
  await new Promise<void>((r) => junk.send(Buffer.from('garbage!'), port, '127.0.0.1', () => r()));
  junk.close();
  await dump.report(/Ignored a malformed OSC packet from 127\.0\.0\.1:\d+: OSC packet is neither a message/, from);

  from = dump.received.length;
  oscsend(port, '/test/connection');
  await dump.report(/Connection works\. #2/, from); // still serving
  assert.ok(dump.received.slice(from).every((d) => d.address === '/report'));
});

test('dataset, model and sounds load with the original folder layout and reply on their addresses', async () => {
  let from = dump.received.length;
  oscsend(port, '/load/dataset', 's', join(work, 'dataset'));
  const ds = await dump.waitFor((d) => d.address === '/dataset', from);
  assert.equal(ds.value, join(work, 'dataset'));
  await dump.report(/Dataset is set to: .* \(2 audio files in .*\/audio; its npy\/ features are not needed/, from);

  from = dump.received.length;
  oscsend(port, '/load/model', 's', join(work, 'nowhere'));
  await dump.report(/Run path does not exist/, from);

  from = dump.received.length;
  oscsend(port, '/load/model', 's', tiny.modelDir);
  const bs = await dump.waitFor((d) => d.address === '/model/batch_size', from, 60000);
  assert.deepEqual([bs.types, bs.value], ['i', 64]);
  await dump.report(/Model loaded successfully from .* \(STFT, 16000 Hz, latent 2\)/, from, 60000);

  // Max sends the full path of a file it knows; a name that does not exist is looked up by its stem in the dataset
  from = dump.received.length;
  oscsend(port, '/sound/interpolate_two/first/audio_path', 's', '/Users/someone/Max/dataset/audio/low.wav');
  const p1 = await dump.waitFor((d) => d.address === '/sound/interpolate_two/first/path', from);
  assert.equal(p1.value, join(work, 'dataset', 'audio', 'low.wav'));
  const n1 = await dump.waitFor((d) => d.address === '/sound/interpolate_two/first/name', from);
  assert.equal(n1.value, 'low');
  await dump.report(/First sound is set to: low at the path .*low\.wav \(2\.00 s\)/, from);

  from = dump.received.length;
  oscsend(port, '/sound/interpolate_two/second/audio_path', 's', join(work, 'dataset', 'audio', 'high.wav'));
  const n2 = await dump.waitFor((d) => d.address === '/sound/interpolate_two/second/name', from);
  assert.equal(n2.value, 'high');

  from = dump.received.length;
  oscsend(port, '/sound/interpolate_two/second/audio_path', 's', 'missing.wav');
  await dump.report(/Could not set the second sound .*no file named missing/, from);
  assert.equal(server.state().second?.name, 'high');
});

test('generate renders with the curve a = (v + 1) / 2, the iterations and normalisation set; play, save, stop', async () => {
  // the patch's 1000-value curve: v from -1 up to 1 and back down, mapped to a = (v + 1) / 2
  const n = 1000;
  const v = Array.from({ length: n }, (_, i) => Math.sin((Math.PI * i) / (n - 1)) * 2 - 1);
  let from = dump.received.length;
  oscsend(port, '/set_alfa', 'f'.repeat(n), ...v.map((x) => x.toFixed(6)));
  await dump.report(/Alfa vector is updated \(1000 values\)/, from);

  from = dump.received.length;
  oscsend(port, '/interpolate_two/generate', 'fff', '1.9', '0.5', '0'); // runs past the end of the 2 s file
  await dump.report(/audio_1_offset\+example_length \(2\.4\) > audio_1 total length \(2\); cannot generate/, from);

  from = dump.received.length;
  oscsend(port, '/interpolate_two/generate', 'fff', '1.5', '0.25', '0.5');
  await dump.report(/Interpolate two - duration set to 1\.5/, from, 60000);
  await dump.report(/Running phase estimation \(pghi\+agla, 8 iterations\)/, from, 60000);
  const done = await dump.report(/Audio generated at .*render-\d{4}\.wav, playing/, from, 60000);
  await dump.report(/Cannot play: no audio device/, from, 60000);
  const wavPath = /at (.*\.wav), playing/.exec(String(done.value))![1];
  const sidecar = JSON.parse(readFileSync(wavPath.replace(/\.wav$/, '.json'), 'utf8'));
  assert.equal(sidecar.params.duration, 1.5);
  assert.deepEqual(sidecar.params.a, { path: join(work, 'dataset', 'audio', 'low.wav'), start: 0.25 });
  assert.deepEqual(sidecar.params.b, { path: join(work, 'dataset', 'audio', 'high.wav'), start: 0.5 });
  assert.deepEqual(sidecar.params.phase, {
    method: 'pghi+agla', iterations: 8, momentum: 0.99, acceleration: { beta: 1.25, gamma: 1.25 }, tolerance: 1e-4, timeDerivative: 'power',
  });
  assert.equal(sidecar.params.normalizeDbfs, -1);
  assert.equal(sidecar.params.sample, false);
  // the curve per frame equals the original's resampling: linear interpolation of (v + 1) / 2 at linspace(0, n - 1, frames)
  const frames = sidecar.frames as number;
  const got = sampleCurve(parseCurveSpec(sidecar.params.curve), frames);
  for (let f = 0; f < frames; f++) {
    const pos = (f * (n - 1)) / (frames - 1);
    const i = Math.min(n - 2, Math.floor(pos));
    const t = pos - i;
    const vi = Number(v[i].toFixed(6)) * (1 - t) + Number(v[i + 1].toFixed(6)) * t;
    assert.ok(Math.abs(got[f] - (vi + 1) / 2) < 1e-5, `frame ${f}: ${got[f]} vs ${(vi + 1) / 2}`);
  }
  const wav = parseWav(readFileSync(wavPath), wavPath);
  assert.equal(wav.sampleRate, 16000);
  assert.equal(wav.channels[0].length, 1.5 * 16000);
  let peak = 0;
  for (const x of wav.channels[0]) peak = Math.max(peak, Math.abs(x));
  assert.ok(Math.abs(20 * Math.log10(peak) - -1) < 0.05, `peak ${20 * Math.log10(peak)} dBFS`);

  // deterministic: the same request renders the same samples
  from = dump.received.length;
  oscsend(port, '/interpolate_two/generate', 'fff', '1.5', '0.25', '0.5');
  const again = await dump.report(/Audio generated at .*, playing/, from, 60000);
  const wavPath2 = /at (.*\.wav), playing/.exec(String(again.value))![1];
  assert.notEqual(wavPath2, wavPath);
  assert.deepEqual(parseWav(readFileSync(wavPath2), wavPath2).channels[0], wav.channels[0]);

  from = dump.received.length;
  oscsend(port, '/sound/interpolate_two/play_again');
  await dump.report(/Playing the previous audio/, from);
  await dump.report(/Cannot play: no audio device/, from);

  from = dump.received.length;
  oscsend(port, '/sound/interpolate_two/save');
  await dump.report(/Please provide a save folder before saving the audio/, from);
  oscsend(port, '/sound/interpolate_two/save_folder', 's', join(work, 'not-there'));
  await dump.report(/Save folder does not exist at the path/, from);
  oscsend(port, '/sound/interpolate_two/save_folder', 's', join(work, 'saved'));
  await dump.report(/Save folder set to .*saved/, from);
  oscsend(port, '/sound/interpolate_two/save');
  const s1 = await dump.report(/Saved the last generated sound at the path: .*generated_audio-00000\.wav/, from);
  oscsend(port, '/sound/interpolate_two/save');
  await dump.report(/generated_audio-00001\.wav/, from);
  const saved = String(s1.value).replace(/^.*path: /, '');
  assert.deepEqual(readFileSync(saved), readFileSync(wavPath2));
  assert.deepEqual(readdirSync(join(work, 'saved')).sort(), ['generated_audio-00000.json', 'generated_audio-00000.wav', 'generated_audio-00001.json', 'generated_audio-00001.wav']);

  from = dump.received.length;
  oscsend(port, '/sound/stop');
  await dump.report(/Stopped audio playback/, from);

  from = dump.received.length;
  oscsend(port, '/audio/device/out', 'i', '3');
  await dump.report(/Audio output 3 cannot be used: no audio device/, from);
  oscsend(port, '/audio/devicelist');
  const clear = await dump.waitFor((d) => d.address === '/audio/devicelist', from);
  assert.equal(clear.value, 'clear');
});

test('/sound/stop cancels a running render; the server answers other messages meanwhile', async () => {
  let from = dump.received.length;
  oscsend(port, '/output/gf_iter', 'i', '512');
  await dump.report(/iterations is set to: 512/, from);
  const before = readdirSync(renders).length;
  from = dump.received.length;
  oscsend(port, '/interpolate_two/generate', 'fff', '1.9', '0', '0');
  await dump.report(/Running phase estimation \(pghi\+agla, 512 iterations\)/, from, 60000);
  oscsend(port, '/test/connection');
  await dump.report(/Connection works/, from);
  oscsend(port, '/sound/stop');
  await dump.report(/Stopped audio playback/, from);
  await dump.report(/Generation cancelled\./, from, 60000);
  await server.idle();
  assert.equal(readdirSync(renders).length, before, 'a cancelled render writes nothing');
  assert.ok(!dump.received.slice(from).some((d) => /Audio generated/.test(String(d.value))));
  oscsend(port, '/output/gf_iter', 'i', '8');
  await dump.report(/iterations is set to: 8/, from);
});

test('/load/model accepts a run folder of the original LTS and imports it once into the cache', async () => {
  const run = join(work, 'run-003');
  const script = join(fileURLToPath(new URL('.', import.meta.url)), 'fixtures', 'make_keras_h5.py');
  const r = spawnSync('/usr/bin/python3', [script, run, '--octaves', '2', '--units', '16', '--latent', '4', '--sample-rate', '16000'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  let from = dump.received.length;
  oscsend(port, '/load/model', 's', run);
  await dump.report(/Importing the original LTS run .*run-003/, from, 60000);
  const bs = await dump.waitFor((d) => d.address === '/model/batch_size', from, 60000);
  assert.equal(bs.value, 64);
  await dump.report(/Model loaded successfully from .*run-003 \(constant-Q, 16000 Hz, latent 4\)/, from, 60000);
  const cached = readdirSync(importDir);
  assert.equal(cached.length, 1);
  assert.ok(existsSync(join(importDir, cached[0], 'weights.json')));
  assert.equal(server.state().model?.source, 'original');

  from = dump.received.length;
  oscsend(port, '/load/model', 's', run);
  await dump.report(/Model loaded successfully from .*run-003/, from, 60000);
  assert.ok(!dump.received.slice(from).some((d) => /Importing/.test(String(d.value))), 'the second load reuses the import');

  // a constant-Q model renders with the accelerated Griffin-Lim algorithm through the invertible constant-Q transform
  from = dump.received.length;
  oscsend(port, '/interpolate_two/generate', 'fff', '0.5', '0.1', '0.2');
  await dump.report(/Running phase estimation \(agla, 8 iterations\)/, from, 60000);
  const done = await dump.report(/Audio generated at .*, playing/, from, 60000);
  const wavPath = /at (.*\.wav), playing/.exec(String(done.value))![1];
  const sidecar = JSON.parse(readFileSync(wavPath.replace(/\.wav$/, '.json'), 'utf8'));
  assert.equal(sidecar.params.model, join(importDir, cached[0]));
  assert.equal(sidecar.params.phase.method, 'agla');
  assert.equal(parseWav(readFileSync(wavPath), wavPath).channels[0].length, 8000);
});

test('with an output device: the device list, the output choice and playback of each render', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lts-osc-audio-'));
  const audio = createAudioOutput({ env: { ALSA_CONFIG_PATH: writeAsoundConf(dir, 'default') } });
  const replyPort = await freeUdpPort();
  const dump2 = new OscDump(replyPort);
  await new Promise((r) => setTimeout(r, 300));
  const s2 = await OscServer.start({ port: 0, replyPort, rendersDir: join(dir, 'renders'), importDir, audio });
  try {
    const p2 = s2.local.port;
    const dev = await dump2.waitFor((d) => d.address === '/audio/devicelist' && /^\d+ default$/.test(String(d.value)));
    const id = Number(String(dev.value).split(' ')[0]);
    const io = await dump2.waitFor((d) => d.address === '/audio/io');
    assert.equal(io.value, `-1 ${id}`);
    let from = dump2.received.length;
    oscsend(p2, '/audio/device/out', 'i', String(id));
    await dump2.report(/^Audio output is set to default$/, from);
    oscsend(p2, '/audio/device/out', 'i', '999');
    await dump2.report(/There is no audio output device 999/, from);

    oscsend(p2, '/load/model', 's', tiny.modelDir);
    await dump2.report(/Model loaded successfully/, from, 60000);
    oscsend(p2, '/sound/interpolate_two/first/audio_path', 's', tiny.fileA);
    oscsend(p2, '/sound/interpolate_two/second/audio_path', 's', tiny.fileB);
    oscsend(p2, '/output/gf_iter', 'i', '4');
    await dump2.report(/Second sound is set to: high/, from);
    from = dump2.received.length;
    oscsend(p2, '/interpolate_two/generate', 'fff', '0.5', '0', '0');
    const done = await dump2.report(/Audio generated at .*, playing/, from, 60000);
    const wavPath = /at (.*\.wav), playing/.exec(String(done.value))![1];
    // the ALSA file plugin captures what PortAudio played: at least the whole render, as float32
    const raw = join(dir, 'default.raw');
    const t0 = Date.now();
    while ((!existsSync(raw) || statSync(raw).size < 8000 * 4) && Date.now() - t0 < 20000) await new Promise((r) => setTimeout(r, 100));
    assert.ok(statSync(raw).size >= 8000 * 4, `captured ${existsSync(raw) ? statSync(raw).size : 0} bytes`);
    await new Promise((r) => setTimeout(r, 300));
    const bytes = readFileSync(raw);
    const played = new Float32Array(bytes.buffer, bytes.byteOffset, Math.floor(bytes.byteLength / 4));
    const rendered = parseWav(readFileSync(wavPath), wavPath).channels[0];
    const energy = (x: Float32Array) => x.reduce((acc, v) => acc + v * v, 0);
    // the same audio went out (the device pads the last block with silence; the WAV is 16-bit)
    assert.ok(Math.abs(energy(played) / energy(rendered) - 1) < 0.01, `energy ratio ${energy(played) / energy(rendered)}`);
    assert.ok(!dump2.received.slice(from).some((d) => /Cannot play/.test(String(d.value))));
  } finally {
    await s2.close();
    audio.close();
    dump2.close();
  }
});
