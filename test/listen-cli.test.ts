/**
 * `--listen [PORT]` flag handling shared by lts, lts render and lts osc, and the lines printed
 * when the server is up.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extractListenFlags, listenBanner, startListening, LISTEN_HELP } from '../src/cli/listen.ts';
import { isUserError } from '../src/io/errors.ts';

test('--listen takes an optional port and leaves every other argument in place', () => {
  assert.deepEqual(extractListenFlags(['--model', 'm', '--listen']), { argv: ['--model', 'm'], listen: { port: 7070 } });
  assert.deepEqual(extractListenFlags(['--listen', '7071', '--model', 'm']), { argv: ['--model', 'm'], listen: { port: 7071 } });
  assert.deepEqual(extractListenFlags(['--listen=8080', '--json']), { argv: ['--json'], listen: { port: 8080 } });
  assert.deepEqual(extractListenFlags(['--listen', '--a', 'x.wav']), { argv: ['--a', 'x.wav'], listen: { port: 7070 } });
  assert.deepEqual(extractListenFlags(['--listen', '0']), { argv: [], listen: { port: 0 } });
  assert.deepEqual(extractListenFlags(['--a', 'x.wav', '--duration', '2']), { argv: ['--a', 'x.wav', '--duration', '2'], listen: null });
  assert.deepEqual(extractListenFlags(['--listen', '7070', '--listen-host', '0.0.0.0']), { argv: [], listen: { port: 7070, host: '0.0.0.0' } });
  assert.deepEqual(extractListenFlags(['--listen-host=::1', '--listen']), { argv: [], listen: { port: 7070, host: '::1' } });
  // After `--` nothing is taken.
  assert.deepEqual(extractListenFlags(['--', '--listen']), { argv: ['--', '--listen'], listen: null });
});

test('bad --listen values are one-line UserErrors naming the flag', () => {
  const cases: [string[], RegExp][] = [
    [['--listen=abc'], /--listen 'abc' is not a TCP port/],
    [['--listen=70000'], /--listen '70000' is not a TCP port/],
    [['--listen', '99999'], /--listen '99999' is not a TCP port/],
    [['--listen', 'abc', '--json'], /--listen 'abc' is not a TCP port/],
    [['--listen', '7070.5'], /--listen '7070.5' is not a TCP port/],
    [['--listen', '--listen'], /--listen is given twice/],
    [['--listen-host', '0.0.0.0'], /--listen-host needs --listen too/],
    [['--listen', '--listen-host'], /--listen-host needs an address/],
    [['--listen', '--listen-host', '--json'], /--listen-host needs an address/],
  ];
  for (const [argv, re] of cases) {
    assert.throws(() => extractListenFlags(argv), (e: unknown) => isUserError(e) && re.test((e as Error).message) && !(e as Error).message.includes('\n'), argv.join(' '));
  }
});

test('the banner gives the URL and the ssh recipe, or a warning for a network address', () => {
  const lines = listenBanner({ url: 'http://localhost:7070/?token=abc', port: 7070, warning: null }, 'gpuhost');
  assert.deepEqual(lines, [
    'listen: open http://localhost:7070/?token=abc in a browser',
    'listen: from another computer: ssh -L 7070:localhost:7070 gpuhost, then open the URL there',
  ]);
  const warned = listenBanner({ url: 'http://10.0.0.5:7070/?token=abc', port: 7070, warning: 'listening on 10.0.0.5' }, 'gpuhost');
  assert.equal(warned[1], 'listen: warning: listening on 10.0.0.5');
  assert.match(LISTEN_HELP, /--listen \[PORT\]/);
});

test('startListening creates the renders folder, binds and prints the banner', async () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'lts-listen-cli-')), 'renders');
  const printed: string[] = [];
  const server = await startListening({ port: 0 }, dir, (l) => printed.push(l));
  try {
    assert.ok(existsSync(dir));
    assert.equal(printed[0], `listen: open ${server.url} in a browser`);
    assert.match(printed[1], new RegExp(`ssh -L ${server.port}:localhost:${server.port} `));
    await assert.rejects(startListening({ port: server.port }, dir, () => undefined), (e: unknown) => isUserError(e) && /port in use/.test((e as Error).message));
  } finally {
    await server.close();
  }
});
