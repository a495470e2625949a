/**
 * Test support for the instrument's UI tests: an in-memory terminal of a chosen size that Ink
 * renders full frames into (Ink's debug mode), and a keyboard that feeds Ink's input.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { stripVTControlCharacters } from 'node:util';
import React from 'react';
import { render as inkRender } from 'ink';
import { App, type AppProps } from '../src/tui/App.tsx';

/** An in-memory terminal of a given size that Ink renders into. */
export class Terminal extends EventEmitter {
  frames: string[] = [];
  isTTY = true;
  constructor(public columns: number, public rows: number) {
    super();
  }
  write = (frame: string) => {
    this.frames.push(frame);
    return true;
  };
  /** Change the size, as a terminal window resize does. */
  resize(columns: number, rows: number) {
    this.columns = columns;
    this.rows = rows;
    this.emit('resize');
  }
  /** The last full frame, without colours. */
  lastFrame(): string {
    return stripVTControlCharacters(this.frames[this.frames.length - 1] ?? '');
  }
}

/** Ink's stdin: every `write` is one read. */
export class Keyboard extends EventEmitter {
  isTTY = true;
  private data: string | null = null;
  setEncoding() {}
  setRawMode() {}
  resume() {}
  pause() {}
  ref() {}
  unref() {}
  read = () => {
    const d = this.data;
    this.data = null;
    return d;
  };
  write(s: string) {
    this.data = s;
    this.emit('readable');
  }
}

/** Mount the app in a terminal of `columns` × `rows`; `press` types and waits a moment. */
export function mountApp(props: AppProps, columns = 100, rows = 30) {
  const term = new Terminal(columns, rows);
  const keys = new Keyboard();
  const inst = inkRender(React.createElement(App, props), {
    stdout: term as unknown as NodeJS.WriteStream,
    stdin: keys as unknown as NodeJS.ReadStream,
    stderr: new Terminal(columns, rows) as unknown as NodeJS.WriteStream,
    debug: true,
    exitOnCtrlC: false,
    patchConsole: false,
  });
  const press = async (s: string) => {
    keys.write(s);
    await new Promise((r) => setTimeout(r, 30));
  };
  return { term, press, unmount: () => inst.unmount(), frame: () => term.lastFrame() };
}

/** Poll `frame()` until `ok` holds; fail with the screen after `ms`. */
export async function until(frame: () => string, ok: (f: string) => boolean, what: string, ms = 30000): Promise<string> {
  const t0 = Date.now();
  for (;;) {
    const f = frame();
    if (ok(f)) return f;
    if (Date.now() - t0 > ms) assert.fail(`timed out waiting for ${what}; screen:\n${f}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
