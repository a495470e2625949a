/**
 * `lts render` where it writes and what it reads, as a user runs it (the real bin, real files): output locations
 * that cannot be written, outputs that appear together or not at all, existing sidecars, badly formed `--from`
 * sidecars, options given with `--from`, strict numbers, and the messages for too short durations and files.
 * Every refusal is one line on stderr with exit code 2 and leaves no file behind.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, existsSync, writeFileSync, readdirSync, mkdirSync, mkdtempSync, chmodSync, copyFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { writeWav } from '../src/io/wav.ts';
import { makeTinyModel, tone, SR, type TinyModel } from './helpers/tiny-model.ts';

const LTS = fileURLToPath(new URL('../bin/lts.js', import.meta.url));
let fx: TinyModel;
/** A sidecar written by a real render of the tiny model. */
let sidecar: Record<string, any>;

before(async () => {
  fx = await makeTinyModel();
  const r = lts('render', ...render(), '--out', join(fx.dir, 'ref.wav'));
  assert.equal(r.code, 0, r.stderr);
  sidecar = JSON.parse(readFileSync(join(fx.dir, 'ref.json'), 'utf8'));
});

/** Run `lts ARGS` in `cwd` (default the fixture folder); `prefix` runs it through another program (setpriv). */
function lts(...args: string[]) {
  return ltsIn(fx.dir, [], ...args);
}

function ltsIn(cwd: string, prefix: string[], ...args: string[]) {
  const cmd = [...prefix, process.execPath, LTS, ...args];
  const r = spawnSync(cmd[0], cmd.slice(1), { encoding: 'utf8', cwd, timeout: 60_000, env: { ...process.env, LTS_STATE_DIR: join(fx.dir, 'state') } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The options of a quick render of the fixture. */
const render = () => ['--model', fx.modelDir, '--iters', '2', '--a', fx.fileA, '--b', `${fx.fileB}@0.5`, '--duration', '0.5'];

/** The single error line of a refused run (exit 2), without the backend line. */
function refusal(r: { code: number | null; stderr: string }): string {
  assert.equal(r.code, 2, `exit code 2 expected (stderr: ${r.stderr})`);
  const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('backend:'));
  assert.equal(lines.length, 1, `one error line, got: ${r.stderr}`);
  assert.match(lines[0], /^lts render: /);
  assert.doesNotMatch(lines[0], /internal error/);
  return lines[0];
}

/** A fresh folder inside the fixture folder. */
function folder(name: string): string {
  const d = join(fx.dir, name);
  mkdirSync(d, { recursive: true });
  return d;
}

/** Files in `dir` (recursively listed names), for "nothing was left behind" checks. */
function contents(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).sort();
}

test('output locations that cannot be written are one line with exit 2 naming the path and the fix, and leave nothing', () => {
  const d = folder('where');
  writeFileSync(join(d, 'plain'), '');
  // --out under a path component that is a file (ENOTDIR), directly and further up.
  let line = refusal(lts('render', ...render(), '--out', join(d, 'plain', 'x.wav')));
  assert.match(line, /plain is a file, not a folder; choose a file in a folder with --out/);
  line = refusal(lts('render', ...render(), '--out', join(d, 'plain', 'sub', 'x.wav')));
  assert.match(line, /plain is a file, not a folder; choose another folder with --dir, or a file elsewhere with --out/);
  // --dir naming a file (EEXIST on mkdir), or under one.
  line = refusal(lts('render', ...render(), '--dir', join(d, 'plain')));
  assert.match(line, /cannot write renders to .*plain: it is a file, not a folder; choose another folder with --dir/);
  line = refusal(lts('render', ...render(), '--dir', join(d, 'plain', 'renders')));
  assert.match(line, /plain is a file, not a folder/);
  // A folder where the WAV would go, even with --force (before: the sidecar was written, then EISDIR, exit 1).
  mkdirSync(join(d, 'take.wav'));
  line = refusal(lts('render', ...render(), '--out', join(d, 'take.wav'), '--force'));
  assert.match(line, /take\.wav is a folder; give a file name such as .*take\.wav\/take\.wav, or use --dir/);
  // A folder where the sidecar would go.
  mkdirSync(join(d, 'other.json'));
  line = refusal(lts('render', ...render(), '--out', join(d, 'other.wav'), '--force'));
  assert.match(line, /a folder .*other\.json is where the render's sidecar would go; remove it or choose another name with --out/);
  assert.deepEqual(contents(d), ['other.json', 'plain', 'take.wav'], 'no sidecar, WAV or temporary file left');
});

test('numbered renders skip a folder sitting where render-0001.json would go (before: EISDIR, internal error)', () => {
  const d = folder('numbered');
  mkdirSync(join(d, 'render-0001.json'));
  writeFileSync(join(d, 'render-0002.json'), 'notes of mine');
  const r = lts('render', ...render(), '--dir', d);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), join(d, 'render-0003.wav'));
  assert.equal(readFileSync(join(d, 'render-0002.json'), 'utf8'), 'notes of mine');
  assert.deepEqual(contents(d), ['render-0001.json', 'render-0002.json', 'render-0003.json', 'render-0003.wav']);
});

test('an existing sidecar next to --out is refused without --force (before: overwritten); with --force both are written', () => {
  const d = folder('existing');
  const out = join(d, 'x.wav');
  writeFileSync(join(d, 'x.json'), '{"mine": true}');
  const line = refusal(lts('render', ...render(), '--out', out));
  assert.match(line, /--out .*x\.wav: .*x\.json exists \(the render's sidecar goes there\); pass --force to overwrite it or choose another name/);
  assert.equal(readFileSync(join(d, 'x.json'), 'utf8'), '{"mine": true}');
  assert.equal(existsSync(out), false);
  const forced = lts('render', ...render(), '--out', out, '--force');
  assert.equal(forced.code, 0, forced.stderr);
  assert.equal(JSON.parse(readFileSync(join(d, 'x.json'), 'utf8')).kind, 'lts-render');
  assert.ok(existsSync(out));
  // And an existing WAV is refused as before, checked before the render runs.
  assert.match(refusal(lts('render', ...render(), '--out', out)), /--out .*x\.wav exists; pass --force to overwrite or choose another name/);
});

/** Whether this process may mount file systems (root in a container that allows it). */
function canMount(): boolean {
  const probe = mkdtempSync(join(tmpdir(), 'lts-mount-'));
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=16k', 'tmpfs', probe]);
  if (r.status === 0) spawnSync('umount', [probe]);
  rmdirSync(probe);
  return r.status === 0;
}

test('a full disk (ENOSPC) is one line and leaves neither the sidecar nor the WAV (before: the sidecar stayed)', (t) => {
  if (!canMount()) return t.skip('cannot mount a small tmpfs here');
  const mnt = mkdtempSync(join(tmpdir(), 'lts-full-'));
  // 16 KB: the sidecar (about 1 KB) fits, the WAV (0.5 s at 16 kHz, 16 KB of samples) does not.
  assert.equal(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=16k', 'tmpfs', mnt]).status, 0);
  try {
    let line = refusal(lts('render', ...render(), '--out', join(mnt, 'x.wav')));
    assert.match(line, /cannot write .*x\.wav: no space left on the device; free some space or choose another folder with --dir, or a file elsewhere with --out/);
    assert.deepEqual(readdirSync(mnt), [], 'no sidecar and no temporary file left');
    line = refusal(lts('render', ...render(), '--dir', join(mnt, 'renders')));
    assert.match(line, /no space left on the device/);
    assert.deepEqual(readdirSync(mnt), [], 'the folder this render created is removed again');
  } finally {
    spawnSync('umount', [mnt]);
    rmdirSync(mnt);
  }
});

test('a read-only file system (EROFS) is one line naming the folder', (t) => {
  if (!canMount()) return t.skip('cannot mount here');
  const src = mkdtempSync(join(tmpdir(), 'lts-ro-src-'));
  const mnt = mkdtempSync(join(tmpdir(), 'lts-ro-'));
  assert.equal(spawnSync('mount', ['--bind', src, mnt]).status, 0);
  try {
    assert.equal(spawnSync('mount', ['-o', 'remount,bind,ro', mnt]).status, 0);
    let line = refusal(lts('render', ...render(), '--out', join(mnt, 'x.wav')));
    assert.match(line, /cannot write to folder .*: the file system is read-only; choose another folder with --dir, or a file elsewhere with --out/);
    line = refusal(ltsIn(mnt, [], 'render', ...render()));
    assert.match(line, /cannot write renders to .*renders: cannot create it in .*: the file system is read-only/);
  } finally {
    spawnSync('umount', [mnt]);
    rmdirSync(mnt);
  }
  assert.deepEqual(readdirSync(src), []);
  rmdirSync(src);
});

test('folders without write permission (run as nobody) are one line: --out, --dir, a new --dir and the default ./renders', (t) => {
  const setpriv = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];
  if (process.getuid?.() !== 0 || spawnSync('setpriv', ['--version']).status !== 0) return t.skip('needs root and setpriv');
  // nobody must read the fixture: mkdtemp makes its folder private.
  chmodSync(fx.dir, 0o755);
  const state = folder('state');
  chmodSync(state, 0o777);
  const ro = folder('readonly');
  chmodSync(ro, 0o555);
  const cases: [string, string[], RegExp][] = [
    [fx.dir, ['--out', join(ro, 'x.wav')], /--out .*readonly\/x\.wav: cannot write to folder .*readonly: permission denied; check the folder's permissions or choose another folder with --dir/],
    [fx.dir, ['--dir', ro], /cannot write renders to .*readonly: permission denied/],
    [fx.dir, ['--dir', join(ro, 'sub')], /cannot write renders to .*readonly\/sub: cannot create it in .*readonly: permission denied/],
    [ro, [], /cannot write renders to .*readonly\/renders: cannot create it in .*readonly: permission denied/],
  ];
  for (const [cwd, args, pattern] of cases) {
    const line = refusal(ltsIn(cwd, setpriv, 'render', ...render(), ...args));
    assert.match(line, pattern);
  }
  assert.deepEqual(readdirSync(ro), []);
});

test('badly formed --from sidecars name the file and the field, with exit 2 (before: internal errors, or flags named)', () => {
  const d = folder('sidecars');
  const variants: [string, (sc: Record<string, any>) => void, string][] = [
    ['a-null', (sc) => (sc.params.a = null), '"params.a" must be an excerpt { "path": FILE, "start": SECONDS }, got null'],
    ['no-a', (sc) => delete sc.params.a, '"params.a" is missing; it must be an excerpt { "path": FILE, "start": SECONDS }'],
    ['a-path-number', (sc) => (sc.params.a = { path: 5, start: 0 }), `"params.a.path" must be the audio file's path (text), got 5`],
    ['b-start-text', (sc) => (sc.params.b.start = '0.5'), '"params.b.start" must be a start in seconds >= 0, got "0.5"'],
    ['params-null', (sc) => (sc.params = null), '"params" must be the render parameters { "model", "a", "b", "duration", ... }, got null'],
    ['phase-null', (sc) => (sc.params.phase = null), '"params.phase" must be the phase settings { "method", "iterations", "momentum", ... }, got null'],
    ['model-null', (sc) => (sc.params.model = null), '"params.model" must be the model folder (text), got null'],
    ['duration-text', (sc) => (sc.params.duration = '3'), '"params.duration" must be a number of seconds from 0.01 to 600, got "3"'],
    ['iters-missing', (sc) => delete sc.params.phase.iterations, '"params.phase.iterations" is missing; it must be a whole number from 0 to 512'],
    ['method-bad', (sc) => (sc.params.phase.method = 'magic'), '"params.phase.method" must be one of "fgla", "agla", "pghi", "pghi+fgla", "pghi+agla", got "magic"'],
    ['sample-text', (sc) => (sc.params.sample = 'yes'), '"params.sample" must be true or false, got "yes"'],
    ['seed-float', (sc) => (sc.params.seed = 1.5), '"params.seed" must be a whole number from 0 to 4294967295, got 1.5'],
    ['normalize-text', (sc) => (sc.params.normalizeDbfs = '-1'), '"params.normalizeDbfs" must be a level in dBFS from -60 to 0, or null for none, got "-1"'],
    ['fade-null', (sc) => (sc.params.fadeMs = null), '"params.fadeMs" must be milliseconds from 0 to 1000, got null'],
    ['tolerance-text', (sc) => (sc.params.phase.tolerance = 'x'), '"params.phase.tolerance" must be a number between 0 and 1 (1e-4 by default), got "x"'],
    ['sha-null', (sc) => (sc.modelWeightsSha256 = null), `"modelWeightsSha256" must be the sha256 of the model's weights (text), got null`],
    ['version-text', (sc) => (sc.version = '1'), '"version" must be 1, got "1"'],
  ];
  for (const [name, edit, expected] of variants) {
    const sc = structuredClone(sidecar);
    edit(sc);
    const file = join(d, `${name}.json`);
    writeFileSync(file, JSON.stringify(sc));
    const line = refusal(lts('render', '--from', file, '--out', join(d, `${name}.wav`)));
    assert.equal(line, `lts render: ${file}: ${expected}; fix the field or render again without --from`, name);
  }
  // A model changed since the render (here: the sidecar records other weights): the message says what to do.
  const changed = structuredClone(sidecar);
  changed.modelWeightsSha256 = '0'.repeat(64);
  writeFileSync(join(d, 'changed.json'), JSON.stringify(changed));
  assert.match(
    refusal(lts('render', '--from', join(d, 'changed.json'), '--out', join(d, 'changed-render.wav'))),
    /changed\.json: the model in .+ has changed since this render \(its weights' sha256 is [0-9a-f]{12}…, the sidecar records 000000000000…\), so the result would not match; restore that model .+, or render the same settings without --from/,
  );
  const curve = structuredClone(sidecar);
  curve.params.curve = 'smooth:';
  writeFileSync(join(d, 'curve.json'), JSON.stringify(curve));
  assert.match(refusal(lts('render', '--from', join(d, 'curve.json'))), /curve\.json: "params\.curve" 'smooth:': the breakpoints after 'smooth:' are missing/);
  assert.deepEqual(contents(d).filter((f) => !f.endsWith('.json')), [], 'nothing rendered');
});

test('--from refuses options that would change the render, names them, and takes the output options', () => {
  const d = folder('from-options');
  const ref = join(fx.dir, 'ref.json');
  const line = refusal(lts('render', '--from', ref, '--duration', '1', '--curve', '0.5', '--out', join(d, 'no.wav')));
  assert.equal(
    line,
    `lts render: --from ${ref} re-renders exactly what the sidecar records, so --duration and --curve cannot be added; leave them out ` +
      '(only --out, --dir, --force, --float, --json, --threads, --backend and --listen go with --from), edit the sidecar, or render without --from',
  );
  assert.match(refusal(lts('render', '--from', ref, '--sample', '--out', join(d, 'no.wav'))), /so --sample cannot be added; leave it out/);
  const ok = lts('render', '--from', ref, '--out', join(d, 'again.wav'), '--threads', '1', '--backend', 'auto', '--json');
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual(readFileSync(join(d, 'again.wav')), readFileSync(join(fx.dir, 'ref.wav')), 'the same render, byte for byte');
  assert.deepEqual(contents(d), ['again.json', 'again.wav']);
  const help = lts('render', '--help');
  assert.match(help.stdout, /--from SIDECAR\.json +re-render exactly what a sidecar describes; only --out, --dir, --force, --float,/);
});

test('empty and hidden output names, and numbers that are not plain decimals, are refused', () => {
  const d = folder('names');
  const cases: [string[], string][] = [
    [['--out', ''], 'lts render: --out is empty; give a file name such as --out take.wav, or leave --out out for numbered renders in ./renders'],
    [['--out', join(d, '.wav')], `lts render: --out ${join(d, '.wav')}: the file name is empty (only ".wav", which would be a hidden file); give a name such as ${join(d, 'take.wav')}`],
    [['--dir', ''], 'lts render: --dir is empty; give a folder such as --dir renders, or leave --dir out for ./renders'],
  ];
  for (const [args, expected] of cases) assert.equal(refusal(lts('render', ...render(), ...args)), expected);
  const numbers: [string, string, string][] = [
    ['--duration', '0x10', '2'],
    ['--iters', '0b11', '32'],
    ['--momentum', '0x1', '0.99'],
    ['--seed', '0o7', '7'],
    ['--fade', '1_0', '10'],
    ['--normalize', 'Infinity', '-1'],
  ];
  for (const [flag, value, example] of numbers) {
    const args = render();
    const at = args.indexOf(flag);
    if (at >= 0) args.splice(at, 2);
    const line = refusal(lts('render', ...args, flag, value, '--out', join(d, 'n.wav')));
    assert.equal(line, `lts render: ${flag} '${value}' is not a number; write a plain decimal number, e.g. ${flag} ${example}`);
  }
  assert.equal(refusal(lts('render', ...render(), '--threads', '0x2')), 'lts render: --threads 0x2: use auto or a whole number of threads from 1 to 16');
  assert.match(refusal(lts('render', '--model', fx.modelDir, '--a', `${fx.fileA}@0x1`, '--b', fx.fileB, '--duration', '1')), /--a .*low\.wav@0x1: start '0x1' is not a number of seconds >= 0; use FILE@START/);
  assert.deepEqual(contents(d), []);
  // Exponents stay allowed.
  const ok = lts('render', ...render(), '--seed', '1e1', '--out', join(d, 'exp.wav'));
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(JSON.parse(readFileSync(join(d, 'exp.json'), 'utf8')).params.seed, 10);
});

test('messages for a too short duration or file, a file name with @, --from a folder and a bare smooth: say what is wrong', () => {
  const d = folder('messages');
  const base = ['--model', fx.modelDir, '--iters', '2', '--b', fx.fileB];
  assert.equal(
    refusal(lts('render', ...base, '--a', fx.fileA, '--duration', '1e-9', '--out', join(d, 'n.wav'))),
    'lts render: --duration 1e-9 is shorter than the minimum of 0.01 s; use seconds from 0.01 to 600, e.g. --duration 2',
  );
  writeWav(join(d, 'ten.wav'), tone(440, 10 / SR, 1, 3), SR);
  assert.equal(
    refusal(lts('render', ...base, '--a', join(d, 'ten.wav'), '--duration', '1', '--out', join(d, 'n.wav'))),
    'lts render: excerpt A (ten.wav): the file is too short (0.0006 s, 10 samples at 16000 Hz); excerpts need at least 0.01 s, so choose a longer file',
  );
  writeWav(join(d, 'short.wav'), tone(440, 0.3, 1, 3), SR);
  assert.match(
    refusal(lts('render', ...base, '--a', join(d, 'short.wav'), '--duration', '1', '--out', join(d, 'n.wav'))),
    /excerpt A \(short\.wav\): 1 s from 0 s runs past the end \(0\.3 s\); use a duration of at most 0\.3 s or an earlier start$/,
  );
  // A file whose name contains @: used as it is when it exists; otherwise the message shows FILE@START and NAME@0.
  copyFileSync(fx.fileA, join(d, 'take@2.wav'));
  const at = lts('render', ...base, '--a', 'messages/take@2.wav', '--duration', '0.5', '--out', join(d, 'at.wav'));
  assert.equal(at.code, 0, at.stderr);
  assert.equal(JSON.parse(readFileSync(join(d, 'at.json'), 'utf8')).params.a.path, join(d, 'take@2.wav'));
  assert.equal(
    refusal(lts('render', ...base, '--a', 'nope@2.wav', '--duration', '0.5', '--out', join(d, 'n.wav'))),
    "lts render: --a nope@2.wav: there is no file nope@2.wav, and '2.wav' after its last @ is not a start in seconds >= 0; use FILE@START, e.g. take.wav@1.5; a file whose name contains @ takes a start too, e.g. nope@2.wav@0",
  );
  assert.equal(
    refusal(lts('render', '--from', d)),
    `lts render: --from ${d} is a folder; give the .json sidecar written beside a render, e.g. --from ${join(d, 'render-0001.json')}`,
  );
  assert.equal(
    refusal(lts('render', ...base, '--a', fx.fileA, '--duration', '1', '--curve', 'smooth:', '--out', join(d, 'n.wav'))),
    "lts render: --curve 'smooth:': the breakpoints after 'smooth:' are missing; give t:a pairs after it, e.g. smooth:0:0,0.5:1.2,1:0",
  );
  assert.equal(existsSync(join(d, 'n.wav')) || existsSync(join(d, 'n.json')), false);
});

after(() => {
  // The read-only folder must be writable again for the temporary fixture to be removable by anyone.
  if (fx && existsSync(join(fx.dir, 'readonly'))) chmodSync(join(fx.dir, 'readonly'), 0o755);
});

test('a cut-off input renders from what is there, with one warning line naming the file; --json lists it', () => {
  const d = folder('cut-input');
  const whole = readFileSync(fx.fileA);
  const cut = join(d, 'cut.wav');
  // Keep the header and 60 % of the float samples: the header still promises the whole length.
  writeFileSync(cut, whole.subarray(0, Math.round(whole.length * 0.6) & ~3));
  const args = render();
  args[args.indexOf(fx.fileA)] = cut;
  const r = lts('render', ...args, '--out', join(d, 'x.wav'), '--json');
  assert.equal(r.code, 0, r.stderr);
  const warnings = r.stderr.split('\n').filter((l) => l.startsWith('lts render: warning: '));
  assert.equal(warnings.length, 1, r.stderr);
  assert.match(warnings[0], /cut\.wav: the file is cut off: its header promises \d\.\d\d s, it holds \d\.\d\d s/);
  const out = JSON.parse(r.stdout);
  assert.deepEqual(out.warnings, [warnings[0].slice('lts render: warning: '.length)]);
  assert.ok(existsSync(join(d, 'x.wav')) && existsSync(join(d, 'x.json')));
  // A healthy pair warns of nothing.
  const ok = lts('render', ...render(), '--out', join(d, 'y.wav'), '--json');
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual(JSON.parse(ok.stdout).warnings, []);
  assert.doesNotMatch(ok.stderr, /warning/);
});
