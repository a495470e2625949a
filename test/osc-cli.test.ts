/**
 * `lts osc` as a user starts it: a real process, reached with liblo's oscsend, answering to oscdump,
 * stopped with Ctrl-C (SIGINT); bad flags are one line and exit code 2.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { freeUdpPort, oscsend, OscDump } from './osc-helpers.ts';
import { oscCommand } from '../src/cli/osc.ts';
import { UserError } from '../src/io/errors.ts';

const LTS = fileURLToPath(new URL('../bin/lts.js', import.meta.url));

test('lts osc serves on the given ports and stops cleanly on SIGINT', async () => {
  const [port, replyPort] = [await freeUdpPort(), await freeUdpPort()];
  const dump = new OscDump(replyPort);
  const cwd = mkdtempSync(join(tmpdir(), 'lts-osc-cli-'));
  const proc = spawn(process.execPath, [LTS, 'osc', '--port', String(port), '--reply-port', String(replyPort), '--quiet', '--backend', 'cpu'], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  try {
    const t0 = Date.now();
    while (!/listening on 127\.0\.0\.1:/.test(stderr) && Date.now() - t0 < 30000) await new Promise((r) => setTimeout(r, 50));
    assert.match(stderr, new RegExp(`listening on 127\\.0\\.0\\.1:${port}, replies to 127\\.0\\.0\\.1:${replyPort}`));
    const from = dump.received.length;
    oscsend(port, '/test/connection');
    await dump.report(/Connection works\. #1/, from);
    proc.kill('SIGINT');
    assert.equal(await exited, 0);
    assert.match(stderr, /lts osc: stopped/);
  } finally {
    proc.kill('SIGKILL');
    dump.close();
  }
});

test('lts osc: bad flags are one line on stderr with exit code 2', async () => {
  const fileInTheWay = join(mkdtempSync(join(tmpdir(), 'lts-osc-cli-')), 'renders');
  writeFileSync(fileInTheWay, 'not a folder');
  const r = spawnSync(process.execPath, [LTS, 'osc', '--port', 'abc'], { encoding: 'utf8' });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /^lts osc: --port 'abc' is not a UDP port; use a whole number from 1 to 65535\n$/);
  for (const [args, re] of [
    [['--reply-port', '70000'], /--reply-port '70000' is not a UDP port/],
    [['--bogus'], /Unknown option '--bogus'.*see lts osc --help/],
    [['--backend', 'gpu'], /--backend gpu: unknown/],
    // Checked before the server starts (before: it started, and the first render or reply failed).
    [['--renders', fileInTheWay], /--renders .+ is a file, not a folder; give a folder for the renders/],
    [['--renders', ''], /--renders is empty/],
    [['--reply-host', 'nosuch.invalid'], /--reply-host nosuch\.invalid: the host name does not resolve \(\w+\); give an IP address/],
  ] as const) {
    await assert.rejects(oscCommand([...args]), (e: unknown) => e instanceof UserError && re.test(e.message) && e.exitCode === 2);
  }
});
