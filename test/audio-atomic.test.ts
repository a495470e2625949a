import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeFileAtomic, writeFileAtomicAsync } from '../src/io/atomic.ts';
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
