/**
 * One-line errors of the `lts` command line for outputs that cannot be written and for input that
 * quotes control characters: the real `bin/lts.js` runs in a child process, as a user would run it.
 *
 * - `lts train --out` in a folder that cannot be written (under a file, in /proc, in a folder of
 *   another user) fails at once, before the dataset is analysed, with one line and exit code 2;
 * - messages never carry raw control bytes (NUL, ESC) to the terminal;
 * - numeric options of `lts train` are plain decimal numbers (no hex).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseTrainArgs } from '../src/cli/train.ts';
import { UserError } from '../src/io/errors.ts';
import { bytes, tmpDir, tone, wav } from './dataset-helpers.ts';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const LTS = join(ROOT, 'bin', 'lts.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Run `lts ARGS` (as `prefix` says, e.g. through setpriv as another user); rejects if it takes more than
 * `timeoutMs` (a hang), after killing it.
 */
function runLts(args: string[], opts: { prefix?: string[]; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  const prefix = opts.prefix ?? [];
  const argv = [...prefix, process.execPath, LTS, ...args];
  return new Promise((res, rej) => {
    const child = spawn(argv[0], argv.slice(1), {
      cwd: ROOT,
      env: { ...process.env, LTS_STATE_DIR: stateDir, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      rej(new Error(`lts ${args.join(' ')} did not end within ${opts.timeoutMs ?? 30_000} ms; stderr so far:\n${stderr}`));
    }, opts.timeoutMs ?? 30_000);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('latin1')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('latin1')));
    child.on('error', rej);
    child.on('close', (code) => {
      clearTimeout(timer);
      res({ code, stdout, stderr });
    });
  });
}

/** A state folder any user may write (the child may run as nobody). */
const stateDir = tmpDir('lts-cli-state-');
chmodSync(stateDir, 0o777);

/** The single stderr line of a refused command (exit 2), checked to be printable and not an internal error. */
function refusal(r: Run, what: string): string {
  assert.equal(r.code, 2, `${what}: exit code; stderr: ${r.stderr}`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `${what}: one line; stderr: ${r.stderr}`);
  assert.doesNotMatch(lines[0], /internal error/, what);
  assert.doesNotMatch(lines[0], /[\x00-\x1f\x7f-\x9f]/, `${what}: no control characters`);
  return lines[0];
}

/**
 * How to run a child that cannot write into a fresh folder: as root, through setpriv as nobody (the folder
 * stays root's, mode 755); otherwise the folder is made read-only. Null when neither works (root without setpriv).
 */
function unwritable(): { dir: string; prefix: string[] } | null {
  const dir = tmpDir('lts-cli-ro-');
  if (process.getuid?.() === 0) {
    if (!existsSync('/usr/bin/setpriv')) return null;
    chmodSync(dir, 0o755);
    return { dir, prefix: ['/usr/bin/setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] };
  }
  chmodSync(dir, 0o555);
  return { dir, prefix: [] };
}

/** A dataset of two short tones, readable by any user. */
function dataset(): string {
  const ds = tmpDir('lts-cli-ds-');
  for (let i = 0; i < 2; i++) wav(join(ds, `t${i}.wav`), tone(0.5, 44100, 220 * (i + 1), { harmonics: 4 }), 44100);
  chmodSync(ds, 0o755);
  return ds;
}

const TINY = ['--epochs', '1', '--hidden', '16', '--latent', '2', '--n-fft', '256', '--hop', '64'];

test('lts train: an --out that cannot be written is refused at once, before the dataset is analysed, with one line', async () => {
  const ds = dataset();
  const file = bytes(join(tmpDir('lts-cli-file-'), 'a-file'), 'not a folder');
  const cases: [string, string, string[]][] = [[`${file}/run`, 'a part of the path is a file', []]];
  if (existsSync('/proc/self')) cases.push(['/proc/lts-test-run', `cannot write /proc/lts-test-run`, []]);
  const ro = unwritable();
  if (ro) cases.push([join(ro.dir, 'run'), 'permission denied', ro.prefix]);
  for (const [out, problem, prefix] of cases) {
    const r = await runLts(['train', ds, '--out', out, ...TINY], { prefix });
    const line = refusal(r, out);
    assert.ok(line.startsWith(`lts train: --out ${out}: cannot write `), line);
    assert.ok(line.includes(problem), line);
    assert.doesNotMatch(r.stderr + r.stdout, /analysing|dataset:/, `${out}: refused before the analysis`);
    assert.equal(existsSync(join(ds, '.lts-cache')), false, `${out}: nothing analysed`);
  }
  if (ro) assert.deepEqual(readdirSync(ro.dir), [], 'nothing left in the unwritable folder');
});

test('error messages show control characters as escapes: lts render --from a WAV file quotes no raw bytes', async () => {
  const ds = dataset();
  const r = await runLts(['render', '--from', join(ds, 't0.wav')]);
  const line = refusal(r, 'render --from a WAV');
  assert.match(line, /^lts render: --from .*t0\.wav: /);
  assert.match(line, /\\x00/, 'the NUL bytes of the WAV header are shown as \\x00');

  const e = new UserError('value "\x1b[2J\x00\x07\x7f\u009b\tok" in config.json\r\nfix it');
  assert.equal(e.message, 'value "\\x1b[2J\\x00\\x07\\x7f\\x9b\\tok" in config.json fix it');
  const long = new UserError(`bad "${'x'.repeat(100_000)}"; fix it`);
  assert.ok(long.message.length <= 2000 && long.message.endsWith('"; fix it'), 'an absurdly long message keeps its start and its fix');
});

test('lts train: numeric options are plain decimal numbers (no hex), 1e-4 stays valid', () => {
  const base = ['ds', '--out', 'run'];
  for (const [flag, value, example] of [
    ['--epochs', '0x2', '2'],
    ['--latent', '0x10', '16'],
    ['--batch', '0x40', '64'],
    ['--seed', '0x1', '1'],
    ['--beta', '0x1', '1'],
    ['--lr', '0b1', '1'],
    ['--validation', 'Infinity', '0.1'],
    ['--hidden', '0x20', '32'],
  ]) {
    assert.throws(
      () => parseTrainArgs([...base, flag, value]),
      (e: unknown) => e instanceof UserError && e.message === `${flag} '${value}' is not a plain decimal number; e.g. ${flag} ${example}`,
      `${flag} ${value}`,
    );
  }
  const a = parseTrainArgs([...base, '--lr', '1e-4', '--beta', '.5', '--epochs', '+3', '--seed', '0']);
  assert.ok(a !== 'help');
  assert.equal(a.training.learningRate, 1e-4);
  assert.equal(a.training.beta, 0.5);
  assert.equal(a.training.epochs, 3);
});
