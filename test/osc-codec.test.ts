/**
 * OSC 1.0 encoder/decoder and UDP port, checked against the specification's example and against
 * liblo (oscsend / oscdump), an implementation the project did not write.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import {
  encodeOsc,
  decodeOsc,
  openOscPort,
  flattenPacket,
  OscDecodeError,
  type OscMessage,
  type OscBundle,
} from '../src/io/osc.ts';
import { freeUdpPort, oscsend, oscsendBytes, OscDump } from './osc-helpers.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('the OSC 1.0 specification example "/oscillator/4/frequency" ,f 440.0 encodes byte for byte', () => {
  const bytes = encodeOsc({ address: '/oscillator/4/frequency', args: [{ type: 'f', value: 440 }] });
  assert.equal(
    hex(bytes),
    '2f6f7363696c6c61746f722f342f6672657175656e637900' + '2c660000' + '43dc0000',
  );
  const back = decodeOsc(bytes) as OscMessage;
  assert.deepEqual(back, { address: '/oscillator/4/frequency', args: [{ type: 'f', value: 440 }] });
});

test('encoding equals what liblo oscsend produces for every common type', () => {
  const ref = oscsendBytes('/a/b', 'ifsdhTFNSc', '3', '1.5', 'hello world', '2.25', '12345678901', 'sym', 'x');
  const ours = encodeOsc({
    address: '/a/b',
    args: [
      { type: 'i', value: 3 },
      { type: 'f', value: 1.5 },
      { type: 's', value: 'hello world' },
      { type: 'd', value: 2.25 },
      { type: 'h', value: 12345678901n },
      { type: 'T', value: true },
      { type: 'F', value: false },
      { type: 'N', value: null },
      { type: 'S', value: 'sym' },
      { type: 'c', value: 'x' },
    ],
  });
  assert.equal(hex(ours), hex(ref));
  const m = decodeOsc(ref) as OscMessage;
  assert.equal(m.address, '/a/b');
  assert.deepEqual(
    m.args.map((a) => [a.type, a.value]),
    [['i', 3], ['f', 1.5], ['s', 'hello world'], ['d', 2.25], ['h', 12345678901n], ['T', true], ['F', false], ['N', null], ['S', 'sym'], ['c', 'x']],
  );
});

test('string padding: lengths 0..8 always end in 1..4 NULs on a 4-byte boundary', () => {
  for (let n = 0; n <= 8; n++) {
    const s = 'x'.repeat(n);
    const bytes = encodeOsc({ address: '/s', args: [{ type: 's', value: s }] });
    const ref = oscsendBytes('/s', 's', s);
    assert.equal(hex(bytes), hex(ref), `length ${n}`);
    assert.equal(bytes.length % 4, 0);
    assert.equal(((decodeOsc(bytes) as OscMessage).args[0] as { value: string }).value, s);
  }
});

test('blobs, arrays, int32 limits and negative numbers survive a round trip', () => {
  const msg: OscMessage = {
    address: '/x',
    args: [
      { type: 'b', value: new Uint8Array([1, 2, 3, 4, 5]) },
      { type: 'i', value: -2147483648 },
      { type: 'i', value: 2147483647 },
      { type: '[', value: [{ type: 'f', value: -0.5 }, { type: 's', value: 'in' }] },
      { type: 'm', value: new Uint8Array([0, 0x90, 60, 100]) },
    ],
  };
  const bytes = encodeOsc(msg);
  assert.equal(bytes.length % 4, 0);
  assert.deepEqual(decodeOsc(bytes), msg);
  assert.throws(() => encodeOsc({ address: '/x', args: [{ type: 'i', value: 2 ** 31 }] }), /out of range/);
  assert.throws(() => encodeOsc({ address: 'x', args: [] }), /must start with \//);
});

test('bundles nest and flatten in order', () => {
  const inner: OscBundle = { timeTag: 1n, elements: [{ address: '/b', args: [{ type: 'i', value: 2 }] }] };
  const outer: OscBundle = { timeTag: 0x0123456789abcdefn, elements: [{ address: '/a', args: [] }, inner, { address: '/c', args: [{ type: 's', value: 'z' }] }] };
  const back = decodeOsc(encodeOsc(outer)) as OscBundle;
  assert.equal(back.timeTag, 0x0123456789abcdefn);
  assert.deepEqual(flattenPacket(back).map((m) => m.address), ['/a', '/b', '/c']);
});

test('malformed packets are rejected with a one-line OscDecodeError, never a crash', () => {
  const good = encodeOsc({ address: '/abc', args: [{ type: 'i', value: 1 }, { type: 's', value: 'hello' }] });
  const cases: [Uint8Array, RegExp][] = [
    [new Uint8Array(0), /empty/],
    [good.subarray(0, good.length - 1), /multiple of 4/],
    [good.subarray(0, good.length - 4), /truncated|NUL/],
    [new Uint8Array([0x41, 0x42, 0x43, 0]), /neither a message/],
    [Uint8Array.from([...Buffer.from('/qab')]), /no terminating NUL/],
    [Uint8Array.from([...Buffer.from('/q\0\0,Z\0\0')]), /unknown type tag 'Z'/],
    [Uint8Array.from([...Buffer.from('/q\0\0,i\0\0')]), /truncated/],
    [Uint8Array.from([...Buffer.from('/q\0x,\0\0\0')]), /zero-padded/],
    [Uint8Array.from([...Buffer.from('#bundle\0'), 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 6]), /size 6/],
  ];
  for (const [bytes, re] of cases) {
    assert.throws(
      () => decodeOsc(bytes),
      (e: unknown) => e instanceof OscDecodeError && re.test(e.message) && !e.message.includes('\n'),
      `bytes ${hex(bytes)}`,
    );
  }
});

test('the UDP port receives from oscsend and sends what oscdump prints', async () => {
  const got: OscMessage[] = [];
  const bad: string[] = [];
  const port = await openOscPort({ port: 0, onMessage: (m) => got.push(m), onDecodeError: (e) => bad.push(e.message) });
  const dumpPort = await freeUdpPort();
  const dump = new OscDump(dumpPort);
  try {
    oscsend(port.local.port, '/set_alfa', 'fff', '-1', '0', '0.5');
    const junk = dgram.createSocket('udp4');
    await new Promise<void>((r) => junk.send(Buffer.from('not osc!'), port.local.port, '127.0.0.1', () => r()));
    junk.close();
    const t0 = Date.now();
    while ((got.length < 1 || bad.length < 1) && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(got, [{ address: '/set_alfa', args: [{ type: 'f', value: -1 }, { type: 'f', value: 0 }, { type: 'f', value: 0.5 }] }]);
    assert.match(bad[0], /neither a message/);

    // oscdump needs a moment to bind; resend until it shows up
    let seen = null;
    for (let k = 0; k < 40 && !seen; k++) {
      await port.send({ address: '/report', args: [{ type: 's', value: 'Connection works. #1' }] }, '127.0.0.1', dumpPort);
      seen = await dump.report(/Connection works/, 0, 150).catch(() => null);
    }
    assert.ok(seen, 'oscdump received the report');
    await port.send({ address: '/output/gf_iter', args: [{ type: 'i', value: 8 }] }, '127.0.0.1', dumpPort);
    const it = await dump.waitFor((d) => d.address === '/output/gf_iter');
    assert.equal(it.types, 'i');
    assert.equal(it.value, 8);
  } finally {
    dump.close();
    await port.close();
  }
});

test('a port in use is a one-line error naming the port and the fix', async () => {
  const a = await openOscPort({ port: 0, onMessage: () => undefined });
  try {
    await assert.rejects(openOscPort({ port: a.local.port, onMessage: () => undefined }), (e: Error) => /in use/.test(e.message) && /--port/.test(e.message));
  } finally {
    await a.close();
  }
});
