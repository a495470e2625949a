/**
 * Open Sound Control 1.0 over UDP: our own encoder, decoder and socket.
 *
 * Implements the OSC 1.0 specification (M. Wright, "The Open Sound Control 1.0 Specification",
 * CNMAT 2002, opensoundcontrol.org/spec-1_0) and the common 1.0 extension types:
 *
 * - a packet is a **message** (address pattern, type tag string, arguments) or a **bundle**
 *   (`#bundle`, a 64-bit NTP time tag, then size-prefixed elements, which may be bundles);
 * - strings are ASCII/UTF-8 bytes, NUL-terminated, zero-padded to a multiple of 4 bytes; blobs are a
 *   32-bit size, the bytes, zero-padded to a multiple of 4; every number is big-endian;
 * - argument types: `i` int32, `f` float32, `s` string, `b` blob (1.0 core); `h` int64, `t` time tag,
 *   `d` float64, `S` symbol, `c` char (as int32), `r` RGBA colour, `m` 4-byte MIDI message, `T` true,
 *   `F` false, `N` nil, `I` impulse (infinitum), and `[ ... ]` arrays (extensions every major
 *   implementation — liblo, python-osc, Max's udpreceive — understands).
 *
 * Max's `udpsend`/`udpreceive` and python-osc (the original LTS engine) use `i`, `f` and `s`.
 *
 * Decoding is strict: a packet that is truncated, misaligned, has an unknown type tag, or an address that
 * does not start with `/` raises an {@link OscDecodeError} with a one-line reason; it never reads past the
 * packet or crashes the receiver.
 */
import dgram from 'node:dgram';
import { UserError } from './errors.ts';

/** One OSC argument, tagged with its OSC type. */
export type OscArg =
  | { type: 'i'; value: number }
  | { type: 'f'; value: number }
  | { type: 'd'; value: number }
  | { type: 'h'; value: bigint }
  | { type: 't'; value: bigint }
  | { type: 's'; value: string }
  | { type: 'S'; value: string }
  | { type: 'c'; value: string }
  | { type: 'b'; value: Uint8Array }
  | { type: 'r'; value: number }
  | { type: 'm'; value: Uint8Array }
  | { type: 'T'; value: true }
  | { type: 'F'; value: false }
  | { type: 'N'; value: null }
  | { type: 'I'; value: null }
  | { type: '['; value: OscArg[] };

/** An OSC message: address (e.g. `/load/model`) and typed arguments. */
export interface OscMessage {
  address: string;
  args: OscArg[];
}

/** An OSC bundle: a 64-bit NTP time tag (1 = "immediately") and its elements. */
export interface OscBundle {
  timeTag: bigint;
  elements: (OscMessage | OscBundle)[];
}

/** A decoded packet. */
export type OscPacket = OscMessage | OscBundle;

/** A packet that is not valid OSC 1.0; the message is one line naming the problem. */
export class OscDecodeError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'OscDecodeError';
  }
}

/** The time tag meaning "immediately" (OSC 1.0). */
export const OSC_IMMEDIATELY = 1n;

/** Largest packet accepted or produced: the largest UDP payload over IPv4. */
export const OSC_MAX_PACKET = 65507;

/** `i` argument (int32; the value is truncated towards zero and must fit 32 bits). */
export const oscInt = (value: number): OscArg => ({ type: 'i', value });
/** `f` argument (float32). */
export const oscFloat = (value: number): OscArg => ({ type: 'f', value });
/** `s` argument (string). */
export const oscString = (value: string): OscArg => ({ type: 's', value });

/** True for an {@link OscBundle}. */
export function isBundle(p: OscPacket): p is OscBundle {
  return (p as OscBundle).elements !== undefined;
}

/** Messages of a packet in order, bundles flattened depth first. */
export function flattenPacket(p: OscPacket): OscMessage[] {
  if (!isBundle(p)) return [p];
  return p.elements.flatMap(flattenPacket);
}

// ---------------------------------------------------------------- encoding

const encoder = new TextEncoder();

function pad4(n: number): number {
  return (n + 3) & ~3;
}

/** Grows as needed; all numbers big-endian. */
class Writer {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  length = 0;
  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  int32(v: number): void {
    this.ensure(4);
    this.view.setInt32(this.length, v);
    this.length += 4;
  }
  uint32(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.length, v);
    this.length += 4;
  }
  float32(v: number): void {
    this.ensure(4);
    this.view.setFloat32(this.length, v);
    this.length += 4;
  }
  float64(v: number): void {
    this.ensure(8);
    this.view.setFloat64(this.length, v);
    this.length += 8;
  }
  int64(v: bigint): void {
    this.ensure(8);
    this.view.setBigInt64(this.length, v);
    this.length += 8;
  }
  uint64(v: bigint): void {
    this.ensure(8);
    this.view.setBigUint64(this.length, v);
    this.length += 8;
  }
  /** Bytes then zero padding to a multiple of 4 (`nul` adds the terminating NUL first). */
  padded(bytes: Uint8Array, nul: boolean): void {
    const n = pad4(bytes.length + (nul ? 1 : 0));
    this.ensure(n);
    this.buf.set(bytes, this.length);
    this.buf.fill(0, this.length + bytes.length, this.length + n);
    this.length += n;
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

function oscStringBytes(s: string, what: string): Uint8Array {
  const b = encoder.encode(s);
  if (b.includes(0)) throw new Error(`OSC ${what} ${JSON.stringify(s.slice(0, 40))} contains a NUL character, which OSC strings cannot hold`);
  return b;
}

function typeTags(args: OscArg[]): string {
  return args.map((a) => (a.type === '[' ? `[${typeTags(a.value)}]` : a.type)).join('');
}

function writeArgs(w: Writer, args: OscArg[]): void {
  for (const a of args) {
    switch (a.type) {
      case 'i':
      case 'c': {
        const v = a.type === 'c' ? a.value.codePointAt(0) ?? 0 : Math.trunc(a.value);
        if (!Number.isFinite(v) || v < -0x80000000 || v > 0x7fffffff) throw new Error(`OSC int32 argument ${a.value} is out of range`);
        w.int32(v);
        break;
      }
      case 'r':
        w.uint32(a.value >>> 0);
        break;
      case 'f':
        w.float32(a.value);
        break;
      case 'd':
        w.float64(a.value);
        break;
      case 'h':
        w.int64(a.value);
        break;
      case 't':
        w.uint64(a.value);
        break;
      case 's':
      case 'S':
        w.padded(oscStringBytes(a.value, 'string'), true);
        break;
      case 'b':
        w.int32(a.value.length);
        w.padded(a.value, false);
        break;
      case 'm':
        if (a.value.length !== 4) throw new Error('OSC MIDI argument must be 4 bytes (port, status, data1, data2)');
        w.bytes(a.value);
        break;
      case '[':
        writeArgs(w, a.value);
        break;
      default:
        break; // T F N I carry no data
    }
  }
}

/**
 * Encode a message or bundle.
 *
 * @param packet A message `{ address, args }` (address must start with `/`) or a bundle
 *   `{ timeTag, elements }`.
 * @returns The packet bytes (length a multiple of 4).
 * @throws Error for an address without a leading `/`, strings containing NUL, out-of-range int32
 *   values, or a packet larger than {@link OSC_MAX_PACKET}.
 */
export function encodeOsc(packet: OscPacket): Uint8Array {
  const w = new Writer();
  writePacket(w, packet);
  if (w.length > OSC_MAX_PACKET) throw new Error(`OSC packet of ${w.length} bytes exceeds the UDP limit of ${OSC_MAX_PACKET}`);
  return w.result();
}

function writePacket(w: Writer, packet: OscPacket): void {
  if (isBundle(packet)) {
    w.padded(encoder.encode('#bundle'), true);
    w.uint64(packet.timeTag);
    for (const el of packet.elements) {
      const inner = new Writer();
      writePacket(inner, el);
      w.int32(inner.length);
      w.bytes(inner.result());
    }
    return;
  }
  if (!packet.address.startsWith('/')) throw new Error(`OSC address ${JSON.stringify(packet.address)} must start with /`);
  w.padded(oscStringBytes(packet.address, 'address'), true);
  w.padded(encoder.encode(',' + typeTags(packet.args)), true);
  writeArgs(w, packet.args);
}

// ---------------------------------------------------------------- decoding

const decoder = new TextDecoder('utf-8', { fatal: false });

class Reader {
  pos = 0;
  private view: DataView;
  constructor(private readonly b: Uint8Array) {
    this.view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  get remaining(): number {
    return this.b.length - this.pos;
  }
  need(n: number, what: string): void {
    if (this.remaining < n) throw new OscDecodeError(`OSC packet truncated: ${what} needs ${n} bytes at offset ${this.pos}, only ${this.remaining} left`);
  }
  string(what: string): string {
    const end = this.b.indexOf(0, this.pos);
    if (end < 0) throw new OscDecodeError(`OSC packet truncated: ${what} at offset ${this.pos} has no terminating NUL`);
    const s = decoder.decode(this.b.subarray(this.pos, end));
    const next = pad4(end + 1);
    if (next > this.b.length) throw new OscDecodeError(`OSC packet truncated: ${what} at offset ${this.pos} lacks its zero padding`);
    for (let i = end; i < next; i++) {
      if (this.b[i] !== 0) throw new OscDecodeError(`OSC ${what} at offset ${this.pos} is not zero-padded to 4 bytes`);
    }
    this.pos = next;
    return s;
  }
  int32(what: string): number {
    this.need(4, what);
    const v = this.view.getInt32(this.pos);
    this.pos += 4;
    return v;
  }
  uint32(what: string): number {
    this.need(4, what);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }
  float32(what: string): number {
    this.need(4, what);
    const v = this.view.getFloat32(this.pos);
    this.pos += 4;
    return v;
  }
  float64(what: string): number {
    this.need(8, what);
    const v = this.view.getFloat64(this.pos);
    this.pos += 8;
    return v;
  }
  int64(what: string): bigint {
    this.need(8, what);
    const v = this.view.getBigInt64(this.pos);
    this.pos += 8;
    return v;
  }
  uint64(what: string): bigint {
    this.need(8, what);
    const v = this.view.getBigUint64(this.pos);
    this.pos += 8;
    return v;
  }
  take(n: number, what: string): Uint8Array {
    this.need(n, what);
    const v = this.b.slice(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
}

/**
 * Decode one OSC packet (a UDP datagram).
 *
 * A message without a type tag string (allowed by very old OSC senders) decodes with no arguments.
 *
 * @param bytes The datagram.
 * @returns The message or bundle.
 * @throws OscDecodeError with a one-line reason for anything that is not valid OSC.
 */
export function decodeOsc(bytes: Uint8Array): OscPacket {
  if (bytes.length === 0) throw new OscDecodeError('empty OSC packet');
  if (bytes.length % 4 !== 0) throw new OscDecodeError(`OSC packet size ${bytes.length} is not a multiple of 4; the sender is not speaking OSC 1.0`);
  return readPacket(new Reader(bytes), bytes, 0);
}

function readPacket(r: Reader, bytes: Uint8Array, depth: number): OscPacket {
  if (depth > 8) throw new OscDecodeError('OSC bundles nested more than 8 deep');
  if (bytes[0] === 0x23) {
    const head = r.string('bundle header');
    if (head !== '#bundle') throw new OscDecodeError(`OSC packet starts with '#' but is not a #bundle (${JSON.stringify(head.slice(0, 20))})`);
    const timeTag = r.uint64('bundle time tag');
    const elements: OscPacket[] = [];
    while (r.remaining > 0) {
      const size = r.int32('bundle element size');
      if (size <= 0 || size % 4 !== 0) throw new OscDecodeError(`OSC bundle element size ${size} is not a positive multiple of 4`);
      const inner = r.take(size, 'bundle element');
      elements.push(readPacket(new Reader(inner), inner, depth + 1));
    }
    return { timeTag, elements };
  }
  if (bytes[0] !== 0x2f) throw new OscDecodeError('OSC packet is neither a message (address starting with /) nor a #bundle');
  const address = r.string('address');
  if (r.remaining === 0) return { address, args: [] };
  const tags = r.string('type tag string');
  if (!tags.startsWith(',')) throw new OscDecodeError(`OSC message ${address}: type tag string ${JSON.stringify(tags.slice(0, 20))} does not start with ','`);
  const stack: OscArg[][] = [[]];
  for (let k = 1; k < tags.length; k++) {
    const t = tags[k];
    const what = `argument ${k} ('${t}') of ${address}`;
    const top = stack[stack.length - 1];
    switch (t) {
      case 'i':
        top.push({ type: 'i', value: r.int32(what) });
        break;
      case 'f':
        top.push({ type: 'f', value: r.float32(what) });
        break;
      case 'd':
        top.push({ type: 'd', value: r.float64(what) });
        break;
      case 'h':
        top.push({ type: 'h', value: r.int64(what) });
        break;
      case 't':
        top.push({ type: 't', value: r.uint64(what) });
        break;
      case 's':
      case 'S':
        top.push({ type: t, value: r.string(what) });
        break;
      case 'c':
        top.push({ type: 'c', value: String.fromCodePoint(r.uint32(what) & 0x1fffff) });
        break;
      case 'r':
        top.push({ type: 'r', value: r.uint32(what) });
        break;
      case 'm':
        top.push({ type: 'm', value: r.take(4, what) });
        break;
      case 'b': {
        const n = r.int32(what);
        if (n < 0) throw new OscDecodeError(`OSC ${what}: negative blob size ${n}`);
        const data = r.take(n, what);
        r.take(pad4(n) - n, `${what} padding`);
        top.push({ type: 'b', value: data });
        break;
      }
      case 'T':
        top.push({ type: 'T', value: true });
        break;
      case 'F':
        top.push({ type: 'F', value: false });
        break;
      case 'N':
        top.push({ type: 'N', value: null });
        break;
      case 'I':
        top.push({ type: 'I', value: null });
        break;
      case '[': {
        const arr: OscArg[] = [];
        top.push({ type: '[', value: arr });
        stack.push(arr);
        break;
      }
      case ']':
        if (stack.length === 1) throw new OscDecodeError(`OSC message ${address}: ']' without '[' in type tags`);
        stack.pop();
        break;
      default:
        throw new OscDecodeError(`OSC message ${address}: unknown type tag '${t}'`);
    }
  }
  if (stack.length !== 1) throw new OscDecodeError(`OSC message ${address}: '[' without ']' in type tags`);
  if (r.remaining !== 0) throw new OscDecodeError(`OSC message ${address}: ${r.remaining} bytes left after the arguments its type tags describe`);
  return { address, args: stack[0] };
}

/** Short human text of an argument list, e.g. `i 3, s "x"` (for logs and reports). */
export function describeArgs(args: OscArg[]): string {
  return args
    .map((a) => {
      switch (a.type) {
        case 's':
        case 'S':
        case 'c':
          return `${a.type} ${JSON.stringify(a.value.length > 60 ? a.value.slice(0, 60) + '…' : a.value)}`;
        case 'b':
        case 'm':
          return `${a.type} (${a.value.length} bytes)`;
        case '[':
          return `[${describeArgs(a.value)}]`;
        case 'T':
        case 'F':
        case 'N':
        case 'I':
          return a.type;
        default:
          return `${a.type} ${String(a.value)}`;
      }
    })
    .join(', ');
}

// ---------------------------------------------------------------- UDP socket

/** Options of {@link openOscPort}. */
export interface OscPortOptions {
  /** Interface to listen on, default `127.0.0.1` (loopback only). */
  host?: string;
  /** UDP port to listen on; 0 picks a free one. */
  port: number;
  /** Called for every message (bundles are flattened, their time tags ignored: messages act on arrival). */
  onMessage: (msg: OscMessage, from: { address: string; port: number }) => void;
  /** Called for a datagram that is not valid OSC. */
  onDecodeError?: (err: OscDecodeError, from: { address: string; port: number }) => void;
}

/** A bound OSC UDP port. */
export interface OscPort {
  /** The address and port actually bound. */
  readonly local: { address: string; port: number };
  /** Send one message (or bundle) to `host:port`. Resolves when the datagram is handed to the OS. */
  send(packet: OscPacket, host: string, port: number): Promise<void>;
  /** Close the socket. Idempotent. */
  close(): Promise<void>;
}

/**
 * Bind a UDP socket that speaks OSC.
 *
 * @throws UserError (one line) when the port is in use or cannot be bound, naming the port and the fix.
 */
export async function openOscPort(opts: OscPortOptions): Promise<OscPort> {
  const host = opts.host ?? '127.0.0.1';
  const socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  await new Promise<void>((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) => {
      socket.close();
      const hint =
        e.code === 'EADDRINUSE'
          ? `UDP port ${opts.port} on ${host} is in use (another lts osc or the original Python engine?); stop it or choose another with --port`
          : `cannot listen on ${host}:${opts.port} (${e.code ?? e.message}); check --host and --port`;
      reject(new UserError(hint));
    };
    socket.once('error', onError);
    socket.bind(opts.port, host, () => {
      socket.off('error', onError);
      resolve();
    });
  });
  socket.on('error', () => {
    /* a send error (e.g. ICMP port unreachable on some systems) must never crash the process */
  });
  socket.on('message', (data, rinfo) => {
    const from = { address: rinfo.address, port: rinfo.port };
    let packet: OscPacket;
    try {
      packet = decodeOsc(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    } catch (e) {
      if (e instanceof OscDecodeError) opts.onDecodeError?.(e, from);
      return;
    }
    for (const m of flattenPacket(packet)) opts.onMessage(m, from);
  });
  const addr = socket.address();
  let closed = false;
  return {
    local: { address: addr.address, port: addr.port },
    send(packet, toHost, toPort) {
      if (closed) return Promise.resolve();
      const bytes = encodeOsc(packet);
      return new Promise<void>((resolve) => {
        socket.send(bytes, toPort, toHost, () => resolve());
      });
    },
    close() {
      if (closed) return Promise.resolve();
      closed = true;
      return new Promise<void>((resolve) => socket.close(() => resolve()));
    },
  };
}
