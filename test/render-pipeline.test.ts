/**
 * The interpolate_two pipeline on a really trained (small) model and real WAV files.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync, readdirSync, mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Renderer, applyFades, defaultPhaseSettings } from '../src/engine/render.ts';
import type { RenderParams } from '../src/engine/render-types.ts';
import { UserError } from '../src/io/errors.ts';
import { readAudio } from '../src/io/audio.ts';
import { analyzeMagnitudes, toFeatures, fromFeatures } from '../src/engine/features.ts';
import { reconstructPhase } from '../src/dsp/phase.ts';
import { stft } from '../src/dsp/stft.ts';
import { magnitudes } from '../src/dsp/coefficients.ts';
import { makeTinyModel, SR, type TinyModel } from './helpers/tiny-model.ts';

let fx: TinyModel;
let renderer: Renderer;

before(async () => {
  fx = await makeTinyModel();
  renderer = await Renderer.create({ backend: 'auto' });
});

function params(curve: string, over: Partial<RenderParams> = {}): RenderParams {
  return {
    model: fx.modelDir,
    a: { path: fx.fileA, start: 0.25 },
    b: { path: fx.fileB, start: 0.5 },
    duration: 1,
    curve,
    phase: defaultPhaseSettings('pghi+fgla', 4),
    normalizeDbfs: null,
    sample: false,
    seed: 0,
    fadeMs: 10,
    ...over,
  };
}

/** Mean log-magnitude spectrum (STFT 256/64) of a signal, over the frames away from the ends. */
function meanLogSpectrum(x: Float32Array): Float64Array {
  const m = magnitudes(stft(x, { kind: 'stft', sampleRate: SR, nFft: 256, hop: 64 }));
  const out = new Float64Array(m.bins);
  let count = 0;
  for (let f = 4; f < m.frames - 4; f++, count++) for (let k = 0; k < m.bins; k++) out[k] += Math.log1p(m.data[f * m.bins + k] * 10);
  for (let k = 0; k < m.bins; k++) out[k] /= count;
  return out;
}

function centroidHz(spec: Float64Array): number {
  let num = 0;
  let den = 0;
  for (let k = 0; k < spec.length; k++) {
    num += spec[k] * (k * SR) / 256;
    den += spec[k];
  }
  return num / den;
}

function dist(p: Float64Array, q: Float64Array): number {
  let s = 0;
  for (let k = 0; k < p.length; k++) s += (p[k] - q[k]) ** 2;
  return Math.sqrt(s);
}

test('a = 1 renders exactly the reconstruction of excerpt A alone, a = 0 that of excerpt B', async () => {
  const { model } = await renderer.synthesize(params('1'));
  for (const [curve, file, start] of [['1', fx.fileA, 0.25], ['0', fx.fileB, 0.5]] as const) {
    const { samples } = await renderer.synthesize(params(curve));
    // Independent computation of "the excerpt through the model": encode, decode mu, rebuild phase.
    const audio = await readAudio(file, { sampleRate: SR });
    const mag = analyzeMagnitudes(audio.samples, fx.config.features);
    const frames = model.transform.frameCount(SR);
    const first = Math.round((start * SR) / 64);
    const slice = mag.data.slice(first * 129, (first + frames) * 129);
    const feats = toFeatures({ frames, bins: 129, data: slice }, 'log');
    const { mu } = model.vae.encode(feats.data, frames);
    const decoded = fromFeatures({ frames, bins: 129, data: model.vae.decode(mu, frames) }, 'log');
    const expected = reconstructPhase(decoded, model.transform, SR, { method: 'pghi+fgla', iterations: 4, momentum: 0.99, seed: 0 });
    applyFades(expected, Math.round(0.01 * SR));
    assert.equal(samples.length, expected.length);
    let maxDiff = 0;
    for (let i = 0; i < samples.length; i++) maxDiff = Math.max(maxDiff, Math.abs(samples[i] - expected[i]));
    assert.ok(maxDiff < 1e-6, `curve ${curve}: max difference ${maxDiff}`);
  }
});

test('a = 0.5 lies between A and B; a = 1.2 moves beyond A, away from B', async () => {
  const spec = async (curve: string) => meanLogSpectrum((await renderer.synthesize(params(curve))).samples);
  const [sA, sB, sMid, sBeyond] = [await spec('1'), await spec('0'), await spec('0.5'), await spec('1.2')];
  const [cA, cB, cMid] = [centroidHz(sA), centroidHz(sB), centroidHz(sMid)];
  assert.ok(cA < cB, `the low tone's centroid ${cA} should be below the bright tone's ${cB}`);
  assert.ok(cMid > cA && cMid < cB, `half-way centroid ${cMid} should lie between ${cA} and ${cB}`);
  assert.ok(dist(sMid, sA) < dist(sA, sB) && dist(sMid, sB) < dist(sA, sB), 'the half-way spectrum is closer to each end than they are to each other');
  assert.ok(dist(sBeyond, sB) > dist(sA, sB), `a = 1.2 should be further from B (${dist(sBeyond, sB)}) than A is (${dist(sA, sB)})`);
});

test('the same seed gives byte-identical WAV files, another seed a different one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lts-render-'));
  const p = params('0:1,0.5:0.2,1:0.7', { sample: true, seed: 7, phase: defaultPhaseSettings('fgla', 3) });
  const r1 = await renderer.render(p, { dir });
  const r2 = await renderer.render(p, { dir });
  const r3 = await renderer.render({ ...p, seed: 8 }, { dir });
  assert.notEqual(r1.path, r2.path, 'numbered renders never overwrite');
  assert.deepEqual(readFileSync(r1.path), readFileSync(r2.path));
  assert.notDeepEqual(readFileSync(r1.path), readFileSync(r3.path));
  assert.deepEqual(readdirSync(dir).sort(), ['render-0001.json', 'render-0001.wav', 'render-0002.json', 'render-0002.wav', 'render-0003.json', 'render-0003.wav']);
  const sidecar = JSON.parse(readFileSync(r1.sidecarPath, 'utf8'));
  assert.equal(sidecar.kind, 'lts-render');
  assert.deepEqual(sidecar.params, p);
  assert.match(sidecar.modelWeightsSha256, /^[0-9a-f]{64}$/);
});

test('normalisation puts the peak at the requested level; an existing --out is refused without force', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lts-render-'));
  const out = join(dir, 'x.wav');
  const r = await renderer.render(params('0.5', { normalizeDbfs: -3 }), { out, encoding: 'float32' });
  assert.ok(Math.abs(r.peakDbfs - -3) < 0.01, `peak ${r.peakDbfs} dBFS`);
  const back = await readAudio(out);
  let peak = 0;
  for (const v of back.samples) peak = Math.max(peak, Math.abs(v));
  assert.ok(Math.abs(20 * Math.log10(peak) + 3) < 0.01);
  await assert.rejects(renderer.render(params('0.5'), { out }), /exists; pass --force/);
  const again = await renderer.render(params('0.5'), { out, force: true });
  assert.equal(again.path, out);
  assert.ok(existsSync(join(dir, 'x.json')));
});

test('the WAV and its sidecar are written together or not at all; a bad output location is one line (UserError), and nothing is left', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lts-render-'));
  const refused = (target: Parameters<Renderer['render']>[1], pattern: RegExp) =>
    assert.rejects(renderer.render(params('0.5'), target), (e: unknown) => e instanceof UserError && pattern.test(e.message) && !e.message.includes('\n'));
  // A folder where the WAV goes: before, the sidecar was written first and stayed when the WAV failed (EISDIR).
  mkdirSync(join(dir, 'w.wav'));
  await refused({ out: join(dir, 'w.wav'), force: true }, /--out .*w\.wav is a folder; give a file name/);
  assert.deepEqual(readdirSync(dir), ['w.wav'], 'no sidecar left');
  // A folder where the sidecar goes.
  mkdirSync(join(dir, 'v.json'));
  await refused({ out: join(dir, 'v.wav'), force: true }, /a folder .*v\.json is where the render's sidecar would go/);
  // An unrelated x.json beside --out x.wav is not overwritten without force.
  writeFileSync(join(dir, 'x.json'), 'my notes');
  await refused({ out: join(dir, 'x.wav') }, /x\.json exists \(the render's sidecar goes there\); pass --force/);
  assert.equal(readFileSync(join(dir, 'x.json'), 'utf8'), 'my notes');
  assert.equal(existsSync(join(dir, 'x.wav')), false);
  const forced = await renderer.render(params('0.5'), { out: join(dir, 'x.wav'), force: true });
  assert.equal(JSON.parse(readFileSync(forced.sidecarPath, 'utf8')).kind, 'lts-render');
  // A file where a folder should be (ENOTDIR, EEXIST).
  writeFileSync(join(dir, 'plain'), '');
  await refused({ out: join(dir, 'plain', 'y.wav') }, /plain is a file, not a folder/);
  await refused({ out: join(dir, 'plain', 'sub', 'y.wav') }, /plain is a file, not a folder/);
  await refused({ dir: join(dir, 'plain') }, /cannot write renders to .*plain: it is a file, not a folder; choose another folder with --dir/);
  await refused({ dir: join(dir, 'plain', 'sub') }, /plain is a file, not a folder/);
  // A folder where nothing can be created although its parent exists (/proc): Node's recursive mkdir looped for ever.
  if (process.platform === 'linux') await refused({ dir: '/proc/lts-renders/sub' }, /^cannot write renders to \/proc\/lts-renders\/sub: cannot create it/);
  // Empty or hidden names.
  await refused({ out: '' }, /^--out is empty/);
  await refused({ out: join(dir, '.wav') }, /the file name is empty/);
  // Numbered renders skip every number whose WAV or sidecar exists, whatever it is.
  const rd = join(dir, 'renders');
  mkdirSync(join(rd, 'render-0001.json'), { recursive: true });
  writeFileSync(join(rd, 'render-0002.wav'), 'not mine');
  writeFileSync(join(rd, 'render-0003.json'), 'not mine');
  const r = await renderer.render(params('0.5'), { dir: rd });
  assert.equal(r.path, join(rd, 'render-0004.wav'));
  assert.equal(readFileSync(join(rd, 'render-0003.json'), 'utf8'), 'not mine');
  assert.deepEqual(readdirSync(rd).sort(), ['render-0001.json', 'render-0002.wav', 'render-0003.json', 'render-0004.json', 'render-0004.wav']);
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tmp')), [], 'no temporary files');
});
