/**
 * `lts render` as a user runs it: the real bin, real files, exit codes and messages.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, existsSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeWav } from '../src/io/wav.ts';
import { makeTinyModel, SR, type TinyModel } from './helpers/tiny-model.ts';

const LTS = fileURLToPath(new URL('../bin/lts.js', import.meta.url));
let fx: TinyModel;

before(async () => {
  fx = await makeTinyModel();
  writeFileSync(join(fx.dir, 'empty.wav'), new Uint8Array(0));
  const silent = new Float32Array(SR * 2);
  writeWav(join(fx.dir, 'silent.wav'), silent, SR);
});

function lts(...args: string[]) {
  const r = spawnSync(process.execPath, [LTS, ...args], { encoding: 'utf8', cwd: fx.dir, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const base = () => ['render', '--model', fx.modelDir, '--iters', '2'];

test('renders with --json timings, and --from SIDECAR reproduces the render byte for byte', () => {
  const out = join(fx.dir, 'first.wav');
  const r = lts(...base(), '--a', `${fx.fileA}@0.5`, '--b', `${fx.fileB}@0.25`, '--duration', '1.2', '--curve', 'smooth:0:0,0.5:1.2,1:0', '--sample', '--seed', '11', '--out', out, '--json');
  assert.equal(r.code, 0, r.stderr);
  const res = JSON.parse(r.stdout);
  assert.equal(res.path, out);
  for (const stage of ['load', 'encode', 'decode', 'phase', 'write']) assert.ok(res.timings[stage] >= 0, stage);
  assert.ok(res.realTimeFactor > 0 && Number.isFinite(res.realTimeFactor));
  assert.equal(res.sampleRate, SR);
  const again = join(fx.dir, 'again.wav');
  const r2 = lts('render', '--from', join(fx.dir, 'first.json'), '--out', again);
  assert.equal(r2.code, 0, r2.stderr);
  assert.deepEqual(readFileSync(again), readFileSync(out));
});

test('--threads 2 shares the encode, the decode and the phase iterations with a second thread and gives the same bytes as one thread', () => {
  const args = ['--a', `${fx.fileA}@0.5`, '--b', `${fx.fileB}@0.25`, '--duration', '1.2', '--curve', '0:1.1,1:-0.1', '--json'];
  const one = lts(...base(), ...args, '--out', join(fx.dir, 'one-thread.wav'));
  assert.equal(one.code, 0, one.stderr);
  const two = lts(...base(), ...args, '--out', join(fx.dir, 'two-threads.wav'), '--threads', '2');
  assert.equal(two.code, 0, two.stderr);
  assert.equal(JSON.parse(one.stdout).threads, 1);
  assert.equal(JSON.parse(two.stdout).threads, 2, 'the last inference call was shared');
  assert.equal(JSON.parse(one.stdout).phaseThreads, 1);
  assert.equal(JSON.parse(two.stdout).phaseThreads, 2, 'the phase iterations were shared');
  assert.deepEqual(readFileSync(join(fx.dir, 'two-threads.wav')), readFileSync(join(fx.dir, 'one-thread.wav')));
  const bad = lts(...base(), ...args, '--out', join(fx.dir, 'never.wav'), '--threads', 'two');
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr.trim(), 'lts render: --threads two: use auto or a whole number of threads from 1 to 16');
  assert.ok(!existsSync(join(fx.dir, 'never.wav')));
});

test('the sidecar records the PGHI tolerance; a sidecar without one (lts 0.1.0) re-renders with the 1e-5 it was made with', () => {
  const out = join(fx.dir, 'tol.wav');
  const r = lts(...base(), '--a', `${fx.fileA}@0.5`, '--b', `${fx.fileB}@0.25`, '--duration', '1.2', '--phase', 'pghi+fgla', '--out', out);
  assert.equal(r.code, 0, r.stderr);
  const sidecar = JSON.parse(readFileSync(join(fx.dir, 'tol.json'), 'utf8'));
  assert.equal(sidecar.params.phase.tolerance, 1e-4);
  const variant = (name: string, tolerance: number | undefined) => {
    const sc = structuredClone(sidecar);
    if (tolerance === undefined) {
      delete sc.params.phase.tolerance;
      sc.lts = '0.1.0';
    } else sc.params.phase.tolerance = tolerance;
    writeFileSync(join(fx.dir, `${name}.src.json`), JSON.stringify(sc));
    const res = lts('render', '--from', join(fx.dir, `${name}.src.json`), '--out', join(fx.dir, `${name}.wav`));
    assert.equal(res.code, 0, res.stderr);
    // A sidecar from another version says so (one line), and still renders.
    assert.equal(/made by lts 0\.1\.0; this is lts /.test(res.stderr), tolerance === undefined, res.stderr);
    return readFileSync(join(fx.dir, `${name}.wav`));
  };
  const legacy = variant('tol-legacy', undefined);
  assert.deepEqual(legacy, variant('tol-1e-5', 1e-5));
  assert.notDeepEqual(legacy, readFileSync(out), 'the tolerance must make a difference on this render');
  assert.equal(JSON.parse(readFileSync(join(fx.dir, 'tol-legacy.json'), 'utf8')).params.phase.tolerance, 1e-5);
});

test("the sidecar records PGHI's time derivative; a sidecar without one (lts 0.2.0) re-renders with the log difference it was made with", () => {
  const out = join(fx.dir, 'td.wav');
  const r = lts(...base(), '--a', `${fx.fileA}@0.5`, '--b', `${fx.fileB}@0.25`, '--duration', '1.2', '--phase', 'pghi', '--out', out);
  assert.equal(r.code, 0, r.stderr);
  const sidecar = JSON.parse(readFileSync(join(fx.dir, 'td.json'), 'utf8'));
  assert.equal(sidecar.params.phase.timeDerivative, 'power');
  const variant = (name: string, timeDerivative: string | undefined) => {
    const sc = structuredClone(sidecar);
    if (timeDerivative === undefined) delete sc.params.phase.timeDerivative;
    else sc.params.phase.timeDerivative = timeDerivative;
    writeFileSync(join(fx.dir, `${name}.src.json`), JSON.stringify(sc));
    return lts('render', '--from', join(fx.dir, `${name}.src.json`), '--out', join(fx.dir, `${name}.wav`));
  };
  for (const [name, td] of [['td-legacy', undefined], ['td-log', 'log'], ['td-power', 'power']] as const) {
    assert.equal(variant(name, td).code, 0, name);
  }
  const wav = (name: string) => readFileSync(join(fx.dir, `${name}.wav`));
  assert.deepEqual(wav('td-power'), readFileSync(out), 'the sidecar rebuilds its render byte for byte');
  assert.deepEqual(wav('td-legacy'), wav('td-log'));
  assert.notDeepEqual(wav('td-legacy'), wav('td-power'), 'the time derivative must make a difference on this render');
  assert.equal(JSON.parse(readFileSync(join(fx.dir, 'td-legacy.json'), 'utf8')).params.phase.timeDerivative, 'log');
  const bad = variant('td-bad', 'cubic');
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr.trim().split('\n').pop(), `lts render: PGHI time derivative "cubic" is not 'power' or 'log'; leave it out for 'power'`);
  assert.ok(!existsSync(join(fx.dir, 'td-bad.wav')));
});

test("renders default to PGHI + AGLA and record AGLA's beta and gamma; a sidecar without them (lts 0.3.0) re-renders; bad ones give one line", () => {
  const out = join(fx.dir, 'agla.wav');
  const r = lts(...base(), '--a', `${fx.fileA}@0.5`, '--b', `${fx.fileB}@0.25`, '--duration', '1.2', '--out', out);
  assert.equal(r.code, 0, r.stderr);
  const sidecar = JSON.parse(readFileSync(join(fx.dir, 'agla.json'), 'utf8'));
  assert.equal(sidecar.params.phase.method, 'pghi+agla');
  assert.deepEqual(sidecar.params.phase.acceleration, { beta: 1.25, gamma: 1.25 });
  const variant = (name: string, edit: (phase: Record<string, unknown>) => void) => {
    const sc = structuredClone(sidecar);
    edit(sc.params.phase);
    writeFileSync(join(fx.dir, `${name}.src.json`), JSON.stringify(sc));
    return lts('render', '--from', join(fx.dir, `${name}.src.json`), '--out', join(fx.dir, `${name}.wav`));
  };
  const wav = (name: string) => readFileSync(join(fx.dir, `${name}.wav`));
  assert.equal(variant('agla-same', () => {}).code, 0);
  assert.deepEqual(wav('agla-same'), readFileSync(out), 'the sidecar rebuilds its render byte for byte');
  // An lts 0.3.0 sidecar: FGLA, no acceleration recorded.
  assert.equal(variant('agla-legacy', (p) => { p.method = 'pghi+fgla'; delete p.acceleration; }).code, 0);
  assert.equal(variant('agla-fgla', (p) => { p.method = 'pghi+fgla'; }).code, 0);
  assert.deepEqual(wav('agla-legacy'), wav('agla-fgla'));
  assert.notDeepEqual(wav('agla-fgla'), readFileSync(out), 'AGLA and FGLA must differ on this render');
  for (const [name, acceleration, message] of [
    ['agla-bad-gamma', { beta: 1.25, gamma: 3 }, 'AGLA acceleration: gamma must be a number in (0, 2], got 3; leave it out for beta 1.25, gamma 1.25'],
    ['agla-bad-beta', { beta: -1, gamma: 1.25 }, 'AGLA acceleration: beta must be a finite number >= 0, got -1; leave it out for beta 1.25, gamma 1.25'],
    ['agla-bad-type', 'fast', 'AGLA acceleration must be an object { beta, gamma }, got fast; leave it out for beta 1.25, gamma 1.25'],
  ] as const) {
    const bad = variant(name, (p) => { p.acceleration = acceleration; });
    assert.equal(bad.code, 2, name);
    assert.equal(bad.stderr.trim().split('\n').pop(), `lts render: ${message}`);
    assert.ok(!existsSync(join(fx.dir, `${name}.wav`)), name);
  }
});

test('without --phase a constant-Q model renders with AGLA (PGHI needs an STFT model); --phase pghi on it gives one line', async () => {
  const cq = await makeTinyModel('cqt');
  const out = join(cq.dir, 'cq.wav');
  const r = lts('render', '--model', cq.modelDir, '--iters', '2', '--a', cq.fileA, '--b', cq.fileB, '--duration', '0.8', '--out', out);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(readFileSync(join(cq.dir, 'cq.json'), 'utf8')).params.phase.method, 'agla');
  const bad = lts('render', '--model', cq.modelDir, '--phase', 'pghi', '--a', cq.fileA, '--b', cq.fileB, '--duration', '0.8', '--out', join(cq.dir, 'bad.wav'));
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr.trim().split('\n').pop(), 'lts render: PGHI needs an STFT model (this one uses the cqt transform); use --phase agla');
  assert.ok(!existsSync(join(cq.dir, 'bad.wav')));
});

test('negative values after options are values, as in the README (--normalize -1, --curve -0.2)', () => {
  const out = join(fx.dir, 'negative.wav');
  const r = lts(...base(), '--a', fx.fileA, '--b', fx.fileB, '--duration', '0.5', '--normalize', '-3', '--curve', '-0.2', '--out', out);
  assert.equal(r.code, 0, r.stderr);
  const sidecar = JSON.parse(readFileSync(join(fx.dir, 'negative.json'), 'utf8'));
  assert.equal(sidecar.params.normalizeDbfs, -3);
  assert.equal(sidecar.params.curve, '-0.2');
});

test('numbered renders in --dir, never overwriting', () => {
  const dir = join(fx.dir, 'renders');
  for (let i = 0; i < 2; i++) {
    const r = lts(...base(), '--a', fx.fileA, '--b', fx.fileB, '--duration', '0.5', '--dir', dir);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), join(dir, `render-000${i + 1}.wav`));
  }
});

const badCases: [string, string[], RegExp][] = [
  ['start past the end', ['--a', 'low.wav@5', '--b', 'high.wav', '--duration', '1'], /excerpt A \(low\.wav\): start 5 s is past the end of the file \(2 s\)/],
  ['duration longer than what remains', ['--a', 'low.wav', '--b', 'high.wav@1.5', '--duration', '1'], /excerpt B \(high\.wav\): 1 s from 1\.5 s runs past the end .*a duration of at most 0\.5 s/],
  ['NaN in the curve', ['--a', 'low.wav', '--b', 'high.wav', '--duration', '1', '--curve', '0:0,0.5:NaN,1:1'], /--curve .*'NaN' is not a number/],
  ['text as a curve', ['--a', 'low.wav', '--b', 'high.wav', '--duration', '1', '--curve', '0:zero'], /'zero' is not a number/],
  ['an unknown preset', ['--a', 'low.wav', '--b', 'high.wav', '--duration', '1', '--curve', 'wobble'], /curve preset 'wobble' not found; known presets: .*ramp-a-to-b/],
  ['an empty file', ['--a', 'empty.wav', '--b', 'high.wav', '--duration', '1'], /empty\.wav: .*(empty|zero)/i],
  ['a silent excerpt', ['--a', 'silent.wav', '--b', 'high.wav', '--duration', '1'], /excerpt A \(silent\.wav\): .* is silent/],
  ['a missing file', ['--a', 'nope.wav', '--b', 'high.wav', '--duration', '1'], /nope\.wav: file not found/],
  ['a bad duration', ['--a', 'low.wav', '--b', 'high.wav', '--duration', 'abc'], /--duration 'abc' is not a number/],
  ['an unknown option', ['--a', 'low.wav', '--b', 'high.wav', '--duration', '1', '--loud'], /Unknown option '--loud'/],
];

for (const [name, args, pattern] of badCases) {
  test(`bad input: ${name} gives one line, exit 2 and no output file`, () => {
    const out = join(fx.dir, `bad-${name.replace(/\W+/g, '-')}.wav`);
    const r = lts(...base(), ...args, '--out', out);
    assert.equal(r.code, 2, `exit code (stderr: ${r.stderr})`);
    const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('backend:'));
    assert.equal(lines.length, 1, `one error line, got: ${r.stderr}`);
    assert.match(lines[0], /^lts render: /);
    assert.match(lines[0], pattern);
    assert.equal(existsSync(out), false, 'nothing written');
    assert.deepEqual(readdirSync(fx.dir).filter((f) => f.includes('.tmp')), [], 'no temporary files left');
  });
}

test('an unknown model folder and a model from a newer version are refused clearly', () => {
  const r = lts('render', '--model', join(fx.dir, 'nomodel'), '--a', 'low.wav', '--b', 'high.wav', '--duration', '1');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /nomodel: model folder not found/);
  const cfgPath = join(fx.modelDir, 'config.json');
  const original = readFileSync(cfgPath, 'utf8');
  try {
    writeFileSync(cfgPath, original.replace('"formatVersion": 1', '"formatVersion": 99'));
    const r2 = lts('render', '--model', fx.modelDir, '--a', 'low.wav', '--b', 'high.wav', '--duration', '1');
    assert.equal(r2.code, 2);
    assert.match(r2.stderr, /newer/);
  } finally {
    writeFileSync(cfgPath, original);
  }
});
