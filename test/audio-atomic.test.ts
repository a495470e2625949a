import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeFileAtomic, writeFileAtomicAsync, StagedFiles, AtomicWriteError } from '../src/io/atomic.ts';
import { UserError, AudioFileError, isUserError } from '../src/io/errors.ts';

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'lts-atomic-'));
}

test('writeFileAtomic writes strings and bytes, replaces existing files, leaves no temp file', () => {
  const dir = tmpDir();
  const p = path.join(dir, 'a.txt');
  writeFileAtomic(p, 'héllo');
  assert.equal(fs.readFileSync(p, 'utf8'), 'héllo');
  const bytes = new Uint8Array(100_000).map((_, i) => (i * 7) & 255);
  writeFileAtomic(p, bytes);
  assert.deepEqual(new Uint8Array(fs.readFileSync(p)), bytes);
  assert.deepEqual(fs.readdirSync(dir), ['a.txt']);
});

test('writeFileAtomic into a missing directory throws ENOENT and creates nothing', () => {
  const dir = tmpDir();
  const p = path.join(dir, 'missing', 'a.txt');
  assert.throws(() => writeFileAtomic(p, 'x'), (e: NodeJS.ErrnoException) => e.code === 'ENOENT');
  assert.deepEqual(fs.readdirSync(dir), []);
});

test('writeFileAtomic onto a directory fails, keeps the directory, and removes its temp file', () => {
  const dir = tmpDir();
  const target = path.join(dir, 'sub');
  fs.mkdirSync(target);
  fs.writeFileSync(path.join(target, 'keep'), 'k');
  assert.throws(() => writeFileAtomic(target, 'x'));
  assert.deepEqual(fs.readdirSync(dir).sort(), ['sub']);
  assert.equal(fs.readFileSync(path.join(target, 'keep'), 'utf8'), 'k');
});

test('writeFileAtomicAsync has the same behaviour', async () => {
  const dir = tmpDir();
  const p = path.join(dir, 'b.bin');
  fs.writeFileSync(p, 'old');
  await writeFileAtomicAsync(p, new Uint8Array([1, 2, 3]));
  assert.deepEqual(new Uint8Array(fs.readFileSync(p)), new Uint8Array([1, 2, 3]));
  const sub = path.join(dir, 'sub');
  fs.mkdirSync(sub);
  await assert.rejects(writeFileAtomicAsync(sub, 'x'));
  assert.deepEqual(fs.readdirSync(dir).sort(), ['b.bin', 'sub']);
  await assert.rejects(writeFileAtomicAsync(path.join(dir, 'no', 'c'), 'x'), (e: NodeJS.ErrnoException) => e.code === 'ENOENT');
});

test('StagedFiles: both files appear together on publish, and no temporary file is left', () => {
  const dir = tmpDir();
  const staged = StagedFiles.stage([
    { path: path.join(dir, 'x.json'), data: '{"a":1}' },
    { path: path.join(dir, 'x.wav'), data: new Uint8Array([1, 2, 3]) },
  ]);
  assert.deepEqual(fs.readdirSync(dir).filter((f) => !f.endsWith('.tmp')), [], 'nothing in place before publish');
  assert.equal(fs.readdirSync(dir).length, 2, 'two staged temporary files');
  staged.publish();
  staged.discard();
  assert.deepEqual(fs.readdirSync(dir).sort(), ['x.json', 'x.wav']);
  assert.equal(fs.readFileSync(path.join(dir, 'x.json'), 'utf8'), '{"a":1}');
  assert.deepEqual(new Uint8Array(fs.readFileSync(path.join(dir, 'x.wav'))), new Uint8Array([1, 2, 3]));
});

test('StagedFiles: a taken name fails with EEXIST, takes back the file already placed, and can be published under other names', () => {
  const dir = tmpDir();
  fs.writeFileSync(path.join(dir, 'r1.wav'), 'someone else');
  const staged = StagedFiles.stage([
    { path: path.join(dir, 'r.json'), data: 'sidecar' },
    { path: path.join(dir, 'r.wav'), data: 'audio' },
  ]);
  assert.throws(
    () => staged.publish([path.join(dir, 'r1.json'), path.join(dir, 'r1.wav')]),
    (e: unknown) => e instanceof AtomicWriteError && e.code === 'EEXIST' && e.file === path.join(dir, 'r1.wav'),
  );
  assert.equal(fs.existsSync(path.join(dir, 'r1.json')), false, 'the sidecar placed first is taken back');
  assert.equal(fs.readFileSync(path.join(dir, 'r1.wav'), 'utf8'), 'someone else', 'the existing file is untouched');
  staged.publish([path.join(dir, 'r2.json'), path.join(dir, 'r2.wav')]);
  staged.discard();
  assert.deepEqual(fs.readdirSync(dir).sort(), ['r1.wav', 'r2.json', 'r2.wav']);
  assert.equal(fs.readFileSync(path.join(dir, 'r2.wav'), 'utf8'), 'audio');
});

test('StagedFiles: with overwrite, a failure on the second file puts the first file\'s old content back', () => {
  const dir = tmpDir();
  fs.writeFileSync(path.join(dir, 'x.json'), 'old sidecar');
  fs.mkdirSync(path.join(dir, 'x.wav')); // a folder where the WAV would go: the rename fails
  const staged = StagedFiles.stage([
    { path: path.join(dir, 'x.json'), data: 'new sidecar' },
    { path: path.join(dir, 'x.wav'), data: 'audio' },
  ]);
  assert.throws(() => staged.publish(undefined, { overwrite: true }), (e: unknown) => e instanceof AtomicWriteError && e.file === path.join(dir, 'x.wav'));
  staged.discard();
  assert.equal(fs.readFileSync(path.join(dir, 'x.json'), 'utf8'), 'old sidecar');
  assert.ok(fs.statSync(path.join(dir, 'x.wav')).isDirectory());
  assert.deepEqual(fs.readdirSync(dir).sort(), ['x.json', 'x.wav'], 'no temporary or backup file left');
  // And when it succeeds, both are replaced and the backups are gone.
  fs.rmdirSync(path.join(dir, 'x.wav'));
  fs.writeFileSync(path.join(dir, 'x.wav'), 'old audio');
  const again = StagedFiles.stage([
    { path: path.join(dir, 'x.json'), data: 'new sidecar' },
    { path: path.join(dir, 'x.wav'), data: 'new audio' },
  ]);
  again.publish(undefined, { overwrite: true });
  again.discard();
  assert.equal(fs.readFileSync(path.join(dir, 'x.json'), 'utf8'), 'new sidecar');
  assert.equal(fs.readFileSync(path.join(dir, 'x.wav'), 'utf8'), 'new audio');
  assert.deepEqual(fs.readdirSync(dir).sort(), ['x.json', 'x.wav']);
});

test('StagedFiles: staging into a missing folder names the destination and leaves nothing', () => {
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'ok'));
  const wav = path.join(dir, 'missing', 'x.wav');
  assert.throws(
    () => StagedFiles.stage([{ path: path.join(dir, 'ok', 'x.json'), data: 's' }, { path: wav, data: 'a' }]),
    (e: unknown) => e instanceof AtomicWriteError && e.code === 'ENOENT' && e.file === wav && e.message.startsWith(`${wav}: `),
  );
  assert.deepEqual(fs.readdirSync(path.join(dir, 'ok')), [], 'the first staged file is removed too');
});

test('UserError / AudioFileError: one-line message, exit code, path', () => {
  const u = new UserError('bad value\n  use --x 3');
  assert.equal(u.message, 'bad value use --x 3');
  assert.equal(u.exitCode, 2);
  assert.equal(new UserError('m', { exitCode: 3 }).exitCode, 3);
  const a = new AudioFileError('/tmp/x.wav', 'not a WAV file; convert it');
  assert.ok(a instanceof UserError && a instanceof Error && isUserError(a));
  assert.equal(a.path, '/tmp/x.wav');
  assert.equal(a.message, '/tmp/x.wav: not a WAV file; convert it');
  assert.equal(a.name, 'AudioFileError');
  assert.equal(isUserError(new Error('x')), false);
});
