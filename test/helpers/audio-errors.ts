/** Shared assertion of the audio tests: a file that must be refused with one line naming it. */
import assert from 'node:assert/strict';
import { readAudio, probeAudio } from '../../src/io/audio.ts';
import { AudioFileError } from '../../src/io/errors.ts';

/**
 * `readAudio(p)` (and `probeAudio(p)` unless `probeToo` is false) fail with a one-line {@link AudioFileError}
 * that names `p`, matches `re` and carries exit code 2.
 * @returns The message.
 */
export async function expectBad(p: string, re: RegExp, opts: { probeToo?: boolean } = {}): Promise<string> {
  let message = '';
  const check = (e: unknown): boolean => {
    assert.ok(e instanceof AudioFileError, `expected AudioFileError, got ${String(e)}`);
    assert.equal(e.path, p);
    assert.ok(e.message.startsWith(`${p}: `), e.message);
    assert.ok(!e.message.includes('\n'), 'one line');
    assert.match(e.message, re);
    assert.equal(e.exitCode, 2);
    message = e.message;
    return true;
  };
  await assert.rejects(readAudio(p), check);
  if (opts.probeToo !== false) await assert.rejects(probeAudio(p), check);
  return message;
}
