/**
 * View-models of the instrument: braille waveforms, time axes, the curve
 * drawing and its editing operations, the layout and the text helpers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BrailleCanvas,
  envelope,
  makeWaveformData,
  renderWaveform,
  selectionColumns,
  timeAxis,
  PEAK_BLOCK,
} from '../src/tui/waveform.ts';
import { curveGutter, drawCurve, drawLine, resampleValues, smoothValues, setValue } from '../src/tui/curve-view.ts';
import { computeLayout, GUTTER } from '../src/tui/layout.ts';
import { fit, fitMiddle, fitLeft, progressBar, spread, formatRate } from '../src/tui/text.ts';

/** Dots set in a braille character (0..8). */
function dots(ch: string): number {
  const v = ch.codePointAt(0)! - 0x2800;
  if (ch === ' ') return 0;
  assert.ok(v >= 0 && v < 256, `not braille: ${ch}`);
  let n = 0;
  for (let b = 0; b < 8; b++) if (v & (1 << b)) n++;
  return n;
}

/** Dot rows set in dot column x (0/1 within the cell) of a braille char, top = 0. */
function dotRows(ch: string, x: 0 | 1): number[] {
  if (ch === ' ') return [];
  const v = ch.codePointAt(0)! - 0x2800;
  const bits = x === 0 ? [0x01, 0x02, 0x04, 0x40] : [0x08, 0x10, 0x20, 0x80];
  return bits.map((b, i) => (v & b ? i : -1)).filter((i) => i >= 0);
}

test('envelope equals brute-force min/max of every slice, at any zoom', () => {
  const sr = 8000;
  const x = new Float32Array(3 * sr + 123);
  let s = 12345;
  for (let i = 0; i < x.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    x[i] = (s / 2 ** 32) * 2 - 1;
  }
  x[5000] = 1.5; // a lone transient must survive zooming out
  const w = makeWaveformData(x, sr);
  for (const [t0, t1, n] of [
    [0, x.length / sr, 37],
    [0.1, 0.13, 50],
    [0.6, 0.7, 3],
  ] as const) {
    const { min, max } = envelope(w, t0, t1, n);
    const span = (t1 - t0) / n;
    for (let c = 0; c < n; c++) {
      const a = Math.floor((t0 + c * span) * sr);
      let b = Math.floor((t0 + (c + 1) * span) * sr);
      if (b <= a) b = a + 1;
      let lo = Infinity;
      let hi = -Infinity;
      for (let i = a; i < Math.min(b, x.length); i++) {
        lo = Math.min(lo, x[i]);
        hi = Math.max(hi, x[i]);
      }
      assert.equal(min[c], lo, `min of slice ${c} in [${t0}, ${t1})`);
      assert.equal(max[c], hi, `max of slice ${c} in [${t0}, ${t1})`);
    }
  }
  assert.equal(w.peak, 1.5);
  assert.equal(w.blockMax.length, Math.ceil(x.length / PEAK_BLOCK));
  const whole = envelope(w, 0, x.length / sr, 10);
  assert.equal(Math.max(...whole.max), 1.5, 'the transient shows when zoomed out');
});

test('a full-scale sine fills every dot row; silence is one centre line; time beyond the file is blank', () => {
  const sr = 1000;
  const x = new Float32Array(2 * sr);
  for (let i = 0; i < sr; i++) x[i] = Math.sin((2 * Math.PI * 50 * i) / sr); // 1 s of 50 Hz, then 1 s of silence
  const w = makeWaveformData(x, sr);
  const lines = renderWaveform(w, 0, 4, 40, 3); // view 4 s: 0-1 s tone, 1-2 s silence, 2-4 s past the end
  assert.equal(lines.length, 3);
  for (const l of lines) assert.equal([...l].length, 40);
  // Columns 0..9 (0-1 s): every dot of every row is set (the sine swings over the full height in each slice).
  for (let c = 0; c < 10; c++) for (const l of lines) assert.equal(dots(l[c]), 8, `tone column ${c}`);
  // Columns 10..19 (1-2 s): only the centre dot row (row 6 of 12 -> character row 1, dot row 2).
  for (let c = 11; c < 19; c++) {
    assert.equal(lines[0][c], ' ');
    assert.equal(lines[2][c], ' ');
    assert.deepEqual(dotRows(lines[1][c], 0), [2]);
    assert.deepEqual(dotRows(lines[1][c], 1), [2]);
  }
  // Columns 20..39 (2-4 s) are past the end of the file.
  for (let c = 21; c < 40; c++) for (const l of lines) assert.equal(l[c], ' ');
});

test('a positive-only pulse draws only in the upper half', () => {
  const sr = 1000;
  const x = new Float32Array(sr).fill(0.5);
  x[0] = 1;
  const w = makeWaveformData(x, sr);
  const lines = renderWaveform(w, 0, 1, 10, 2); // 8 dot rows: +1 -> row 0, +0.5 -> row 2, 0 -> row 4
  for (let c = 1; c < 10; c++) {
    assert.deepEqual(dotRows(lines[0][c], 0), [2]);
    assert.equal(lines[1][c], ' ');
  }
});

test('braille canvas maps dot coordinates to the Unicode braille bits', () => {
  const c = new BrailleCanvas(2, 1);
  c.set(0, 0); // dot 1
  c.set(1, 3); // dot 8
  c.set(3, 0); // second cell, dot 4
  c.set(9, 9); // outside: ignored
  assert.deepEqual(c.toLines(), ['\u2881\u2808']);
});

test('time axis puts labels at the columns of their times', () => {
  const axis = timeAxis(0, 4, 40);
  assert.equal([...axis].length, 40);
  // 10 columns per second; a label every second (>= 8 columns apart).
  for (const s of [0, 1, 2, 3]) {
    const col = s * 10;
    assert.equal(axis.slice(col, col + 2), '╵' + String(s), `label ${s} at column ${col}`);
  }
  const fine = timeAxis(1.2, 1.6, 40); // 100 columns per second: labels every 0.1 s
  assert.equal(fine.slice(0, 4), '╵1.2');
  assert.equal(fine.slice(10, 14), '╵1.3');
  assert.ok(timeAxis(0, 600, 60).includes('╵2:00'), 'minutes shown as m:ss');
});

test('selection columns cover the selection and are clipped to the view', () => {
  assert.deepEqual(selectionColumns(1, 2, 0, 4, 40), [10, 20]);
  assert.deepEqual(selectionColumns(3.5, 5, 0, 4, 40), [35, 40]);
  assert.deepEqual(selectionColumns(5, 6, 0, 4, 40), [40, 40]);
  assert.deepEqual(selectionColumns(1, 1.01, 0, 4, 40), [10, 11], 'narrow selection keeps one column');
});

test('curve editing: straight line, smoothing, resampling, clamping', () => {
  const v = [0, 0, 0, 0, 0, 1];
  assert.deepEqual(drawLine(v, 0, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(drawLine(v, 5, 0), [0, 0.2, 0.4, 0.6, 0.8, 1], 'either direction');
  assert.deepEqual(smoothValues([0.3, 0.3, 0.3, 0.3]), [0.3, 0.3, 0.3, 0.3], 'a constant stays');
  const ramp = [0, 0.1, 0.2, 0.3, 0.4];
  assert.deepEqual(smoothValues(ramp).slice(1, 4), [0.1, 0.2, 0.3], 'a line stays inside');
  const spike = smoothValues([0, 0, 1, 0, 0]);
  assert.deepEqual(spike, [0, 0.25, 0.5, 0.25, 0]);
  assert.deepEqual(resampleValues([0, 1], 5), [0, 0.25, 0.5, 0.75, 1]);
  assert.deepEqual(resampleValues([0, 1, 0], 5), [0, 0.5, 1, 0.5, 0]);
  assert.deepEqual(setValue([0, 0], 1, 2, [-1.3, 1.3]), [0, 1.3]);
  assert.deepEqual(setValue([0, 0], 0, -0.30000000004, [-1.3, 1.3]), [-0.3, 0]);
});

test('curve drawing: values land on the right dot rows and extrapolation is marked', () => {
  // 4 rows = 16 dot rows over [-1.3, 1.3]: dot row of v is round((1.3 - v) / 2.6 * 15).
  const values = [1.3, 1, 0.5, 0, -1.3, 1.2];
  const d = drawCurve(values, 4, [-1.3, 1.3]);
  assert.equal(d.lines.length, 4);
  const rowOf = (v: number) => Math.round(((1.3 - v) / 2.6) * 15);
  // Left dot column of each cell holds the value itself (plus the join from the previous one).
  const check = (col: number, v: number) => {
    const y = rowOf(v);
    const ch = d.lines[Math.floor(y / 4)][col];
    assert.ok(dotRows(ch, 0).includes(y % 4), `value ${v} at column ${col} on dot row ${y}`);
  };
  values.forEach((v, i) => check(i, v));
  assert.equal(d.kinds[0][0], 'curve-extra', '1.3 is beyond A');
  assert.equal(d.kinds[Math.floor(rowOf(0.5) / 4)][2], 'curve');
  assert.equal(d.kinds[3][4], 'curve-extra', '-1.3 is beyond B');
  // Empty cells of the top row (above a = 1) are the extrapolation zone, the middle rows are not.
  assert.equal(d.kinds[0][3], 'zone');
  // Gutter of 8 rows (32 dot rows): a = 1 on dot row round(0.3 / 2.6 * 31) = 4 -> row 1; a = 0 on dot row 16 -> row 4.
  const g = curveGutter(8, [-1.3, 1.3], 4);
  assert.deepEqual(g, [' 1.3', ' A 1', '    ', '    ', ' B 0', '    ', '    ', '-1.3']);
  // When a = 1 shares the top row with the range label, the A marker wins.
  assert.equal(curveGutter(4, [-1.3, 1.3], 4)[0], ' A 1');
});

test('layout fills 80x24 exactly and grows with the terminal', () => {
  for (const [c, r] of [
    [80, 24],
    [120, 40],
    [200, 60],
  ]) {
    const l = computeLayout(c, r);
    assert.equal(l.listWidth + 1 + l.rightWidth, c, `width at ${c}x${r}`);
    assert.equal(l.plotWidth, l.rightWidth - GUTTER);
    // status + main + transport + message/hints, one line short of the terminal
    assert.equal(l.height, r - 1);
    assert.equal(1 + l.mainHeight + 2, l.height, `height at ${c}x${r}`);
    // right column: 2 x (title + wave + axis) + (title + curve + axis)
    assert.equal(2 * (l.waveRows + 2) + l.curveRows + 2, l.mainHeight);
    assert.ok(l.waveRows >= 3 && l.curveRows >= 6, `legible panels at ${c}x${r}`);
    assert.equal(l.tooSmall, false);
  }
  assert.equal(computeLayout(50, 15).tooSmall, true);
  assert.ok(computeLayout(120, 40).plotWidth > computeLayout(80, 24).plotWidth);
});

test('text helpers keep exact widths', () => {
  assert.equal(fit('abcdef', 4), 'abc…');
  assert.equal(fit('ab', 4), 'ab  ');
  assert.equal(fitMiddle('abcdefghij', 7), 'abc…hij');
  assert.equal(fitLeft('/a/b/c/render-0001.wav', 12), '…er-0001.wav');
  assert.equal(spread('left', 'right', 12), 'left   right');
  assert.equal([...spread('a long left text', 'right', 12)].length, 12);
  assert.equal(progressBar(0.5, 10), '█████     ');
  assert.equal(progressBar(0.5, 1), '▌');
  assert.equal(progressBar(1 / 8, 1), '▏');
  assert.equal(formatRate(44100), '44.1k');
  assert.equal(formatRate(48000), '48k');
});

test('text helpers: control characters become visible, wide characters count two cells', async () => {
  const { fit, fitMiddle, fitLeft, spread, printable, textWidth } = await import('../src/tui/text.ts');
  assert.equal(printable('a\x1b[31mb\nc\td\x7f\x9b'), 'a␛[31mb␊c␉d␡?');
  assert.equal(fit('new\nline', 10), 'new␊line  ');
  assert.equal(textWidth('日本語'), 6);
  assert.equal(textWidth('e\u0301'), 1);
  assert.equal(textWidth('👩‍👩‍👧'), 2);
  assert.equal(textWidth(fit('日本語の音.wav', 8)), 8);
  assert.equal(fit('日本語の音.wav', 8), '日本語… ');
  assert.equal(textWidth(fitMiddle('日本語の音声ファイル.wav', 12)), 12);
  assert.ok(textWidth(fitLeft('/音/日本語の音.wav', 9)) <= 9);
  assert.equal(textWidth(spread('日本語の音', '0.00 s', 20)), 20);
  assert.equal(fit('plain', 7), 'plain  ', 'ASCII as before');
});

test("render errors about the renders folder are said in the instrument's terms, not lts render's flags", async () => {
  const { inTuiTerms } = await import('../src/tui/App.tsx');
  const t = inTuiTerms('cannot write /s/renders/render-0001.wav: permission denied; check the folder\'s permissions or choose another folder with --dir, or a file elsewhere with --out');
  assert.ok(!/--dir|--out/.test(t), t);
  assert.match(t, /permission denied; check the folder's permissions or restart lts with LTS_STATE_DIR \(or --state-dir\) set to another writable folder/);
  assert.ok(!/--dir|--out/.test(inTuiTerms('/s/renders: it is a file, not a folder; choose another folder with --dir, or a file with --out')));
});
