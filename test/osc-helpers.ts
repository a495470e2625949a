/**
 * Test helpers for the OSC tests: liblo's command-line tools (Debian liblo-tools) as the foreign
 * client: `oscsend` sends, `oscdump` receives and prints.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';

/** A free UDP port on 127.0.0.1 (bound, read, released). */
export async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Send one message with liblo's oscsend, e.g. `oscsend(7020, '/output/gf_iter', 'i', '8')`. */
export function oscsend(port: number, address: string, types = '', ...values: string[]): void {
  const r = spawnSync('oscsend', ['127.0.0.1', String(port), address, ...(types ? [types, ...values] : [])], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`oscsend failed: ${r.stderr || r.error}`);
}

/** The raw bytes oscsend produces for a message (it writes them to stdout with the URL `-`). */
export function oscsendBytes(address: string, types: string, ...values: string[]): Uint8Array {
  const r = spawnSync('oscsend', ['-', address, types, ...values]);
  if (r.status !== 0) throw new Error(`oscsend failed: ${r.stderr}`);
  return new Uint8Array(r.stdout);
}

/** One line of oscdump: address, type tags and the argument text. */
export interface Dumped {
  address: string;
  types: string;
  /** Argument text after the type tags, e.g. `"clear"` or `8`. */
  rest: string;
  /** For a single `s` argument: the string; for a single `i`/`f`: the number. */
  value: string | number | undefined;
}

function parseDumpLine(line: string): Dumped | null {
  // "<sec>.<frac> /address types args..."
  const m = /^[0-9a-f]+\.[0-9a-f]+ (\/\S*) ?(\S*) ?(.*)$/.exec(line);
  if (!m) return null;
  const [, address, types, rest] = m;
  let value: string | number | undefined;
  if (types === 's' && rest.startsWith('"') && rest.endsWith('"')) value = rest.slice(1, -1);
  else if (types === 'i' || types === 'f') value = Number(rest);
  return { address, types, rest, value };
}

/** oscdump listening on a port, collecting what arrives. */
export class OscDump {
  readonly received: Dumped[] = [];
  private proc: ChildProcess;
  private partial = '';
  private waiters: (() => void)[] = [];

  constructor(readonly port: number) {
    this.proc = spawn('oscdump', ['-L', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stdout!.on('data', (d: Buffer) => {
      const parts = (this.partial + d.toString()).split('\n');
      this.partial = parts.pop() ?? '';
      for (const l of parts) {
        const p = parseDumpLine(l);
        if (p) this.received.push(p);
      }
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** Resolve with the first message at index >= `from` that satisfies `pred`; reject after `ms`. */
  async waitFor(pred: (d: Dumped) => boolean, from = 0, ms = 30000): Promise<Dumped> {
    const deadline = Date.now() + ms;
    for (;;) {
      const hit = this.received.slice(from).find(pred);
      if (hit) return hit;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`timed out waiting for an OSC reply; received so far:\n${this.received.slice(from).map((d) => `${d.address} ${d.types} ${d.rest}`).join('\n')}`);
      }
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** Resolve with the first /report at index >= `from` whose text matches `re`. */
  report(re: RegExp, from = 0, ms?: number): Promise<Dumped> {
    return this.waitFor((d) => d.address === '/report' && typeof d.value === 'string' && re.test(d.value), from, ms);
  }

  /** Stop oscdump (by its own pid). */
  close(): void {
    this.proc.kill('SIGTERM');
  }
}
