/**
 * Builds the shipped demo dataset (`data/demo/`) and the phase-benchmark set
 * (`data/bench/`) from freely licensed sources only:
 *
 * - instrument phrases rendered with FluidSynth from the FluidR3 GM sound font
 *   (Debian `fluid-soundfont-gm`, MIT licence) — or TimGM6mb (`timgm6mb-soundfont`, GPL-2)
 *   when FluidR3 is missing — from MIDI files this script writes itself;
 * - speech from `espeak-ng` (GPL-3 synthesiser; its output is not covered by the GPL).
 *
 * Each file is mono, 44.1 kHz, 16-bit, 4-4.5 s long.
 * Usage: `node --import tsx scripts/make-demo-data.ts` (needs the Debian packages
 * fluidsynth, fluid-soundfont-gm, espeak-ng and sox; `scripts/system-deps.sh demo` installs them).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync, existsSync, rmSync, mkdtempSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SOUNDFONTS = ['/usr/share/sounds/sf2/FluidR3_GM.sf2', '/usr/share/sounds/sf2/TimGM6mb.sf2'];
const soundfont = SOUNDFONTS.find((p) => existsSync(p));
if (!soundfont) {
  console.error('make-demo-data: no GM sound font found; run `bash scripts/system-deps.sh demo` (installs fluid-soundfont-gm)');
  process.exit(2);
}
for (const tool of ['fluidsynth', 'espeak-ng', 'sox']) {
  try {
    execFileSync('which', [tool], { stdio: 'ignore' });
  } catch {
    console.error(`make-demo-data: ${tool} is missing; run \`bash scripts/system-deps.sh demo\``);
    process.exit(2);
  }
}

/** A note: start and length in beats, MIDI pitch, velocity. */
type Note = [start: number, length: number, pitch: number, velocity: number];

/** Write a format-0 Standard MIDI File with one program on channel 0 (or 9 for drums). */
function midiFile(program: number, notes: Note[], bpm: number, drums = false): Uint8Array {
  const tpq = 480;
  const ch = drums ? 9 : 0;
  const events: { tick: number; bytes: number[] }[] = [];
  const usPerBeat = Math.round(60_000_000 / bpm);
  events.push({ tick: 0, bytes: [0xff, 0x51, 0x03, (usPerBeat >> 16) & 255, (usPerBeat >> 8) & 255, usPerBeat & 255] });
  if (!drums) events.push({ tick: 0, bytes: [0xc0 | ch, program] });
  for (const [s, l, p, v] of notes) {
    events.push({ tick: Math.round(s * tpq), bytes: [0x90 | ch, p, v] });
    events.push({ tick: Math.round((s + l) * tpq), bytes: [0x80 | ch, p, 0] });
  }
  events.sort((a, b) => a.tick - b.tick || (a.bytes[0] & 0xf0) - (b.bytes[0] & 0xf0));
  const track: number[] = [];
  let last = 0;
  for (const e of events) {
    let d = e.tick - last;
    last = e.tick;
    const vlq = [d & 0x7f];
    while ((d >>= 7) > 0) vlq.unshift((d & 0x7f) | 0x80);
    track.push(...vlq, ...e.bytes);
  }
  track.push(0x00, 0xff, 0x2f, 0x00);
  const header = [0x4d, 0x54, 0x68, 0x64, 0, 0, 0, 6, 0, 0, 0, 1, (tpq >> 8) & 255, tpq & 255];
  const len = track.length;
  return Uint8Array.from([...header, 0x4d, 0x54, 0x72, 0x6b, (len >>> 24) & 255, (len >>> 16) & 255, (len >>> 8) & 255, len & 255, ...track]);
}

const arpeggio = (root: number): Note[] => [0, 4, 7, 12, 7, 4, 0, -5].map((iv, i) => [i * 0.5, 0.5, root + iv, 96]);
const melody = (root: number): Note[] =>
  [0, 2, 4, 5, 7, 5, 4, 2, 0].map((iv, i) => [i * 0.45, i === 8 ? 1.4 : 0.45, root + iv, 90 + (i % 3) * 10]);
const sustained = (root: number): Note[] => [
  [0, 2.2, root, 100],
  [2.2, 2.2, root + 7, 100],
];
const chords = (root: number): Note[] => [
  ...[0, 4, 7].map((iv) => [0, 2, root + iv, 90] as Note),
  ...[5, 9, 12].map((iv) => [2, 2, root + iv, 90] as Note),
];

interface Item {
  name: string;
  program?: number;
  notes?: Note[];
  bpm?: number;
  drums?: boolean;
  speech?: { text: string; voice: string; speed: number; pitch: number };
}

/** GM program numbers are 0-based here. */
const DEMO: Item[] = [
  { name: 'piano-arpeggio', program: 0, notes: arpeggio(60), bpm: 110 },
  { name: 'nylon-guitar-melody', program: 24, notes: melody(55), bpm: 120 },
  { name: 'violin-sustain', program: 40, notes: sustained(67), bpm: 60 },
  { name: 'cello-sustain', program: 42, notes: sustained(43), bpm: 60 },
  { name: 'flute-melody', program: 73, notes: melody(72), bpm: 120 },
  { name: 'clarinet-melody', program: 71, notes: melody(58), bpm: 110 },
  { name: 'trumpet-sustain', program: 56, notes: sustained(62), bpm: 60 },
  { name: 'church-organ-chords', program: 19, notes: chords(48), bpm: 60 },
  { name: 'choir-aahs-chords', program: 52, notes: chords(55), bpm: 60 },
  { name: 'marimba-arpeggio', program: 12, notes: arpeggio(64), bpm: 120 },
  { name: 'voice-en-1', speech: { text: 'Latent timbre synthesis learns the colour of sound.', voice: 'en-us', speed: 140, pitch: 45 } },
  { name: 'voice-en-2', speech: { text: 'Move between two sounds, and a little beyond them.', voice: 'en-gb', speed: 130, pitch: 60 } },
];

const BENCH: Item[] = [
  { name: 'bench-piano', program: 0, notes: chords(52), bpm: 70 },
  { name: 'bench-strings', program: 48, notes: melody(60), bpm: 100 },
  { name: 'bench-sax', program: 65, notes: melody(62), bpm: 110 },
  { name: 'bench-bass', program: 33, notes: arpeggio(36), bpm: 120 },
  { name: 'bench-speech-1', speech: { text: 'The quick brown fox jumps over the lazy dog, twice.', voice: 'en-us', speed: 150, pitch: 40 } },
  { name: 'bench-speech-2', speech: { text: 'Phase reconstruction turns magnitudes back into sound.', voice: 'en-gb', speed: 140, pitch: 65 } },
];

function render(item: Item, outDir: string, seconds: number, work: string): void {
  const raw = join(work, item.name + '.raw.wav');
  if (item.speech) {
    const s = item.speech;
    execFileSync('espeak-ng', ['-v', s.voice, '-s', String(s.speed), '-p', String(s.pitch), '-w', raw, s.text], { stdio: 'ignore' });
  } else {
    const mid = join(work, item.name + '.mid');
    writeFileSync(mid, midiFile(item.program ?? 0, item.notes ?? [], item.bpm ?? 120, item.drums));
    execFileSync('fluidsynth', ['-ni', '-q', '-g', '0.8', '-r', '44100', '-F', raw, soundfont!, mid], { stdio: 'ignore' });
  }
  const out = join(outDir, item.name + '.wav');
  // mono, 44.1 kHz, 16-bit; trim leading silence; pad/cut to the target length; fade out; level with sox gain -n -1.
  execFileSync(
    'sox',
    [raw, '-r', '44100', '-c', '1', '-b', '16', out, 'silence', '1', '0.01', '0.1%', 'pad', '0', String(seconds), 'trim', '0', String(seconds), 'fade', 't', '0.005', String(seconds), '0.05', 'gain', '-n', '-1'],
    { stdio: 'ignore' },
  );
}

function build(items: Item[], dir: string, seconds: number): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'lts-demo-'));
  try {
    for (const item of items) render(item, dir, seconds, work);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  console.log(`${dir}: ${readdirSync(dir).length} files`);
}

build(DEMO, join(root, 'data', 'demo'), 4.5);
build(BENCH, join(root, 'data', 'bench'), 4);
writeFileSync(
  join(root, 'data', 'SOURCES.md'),
  `# Where the shipped audio comes from\n\nMade by \`scripts/make-demo-data.ts\` (run it to rebuild; it is deterministic up to the tools' versions).\n\n` +
    `- Instrument phrases: MIDI written by the script, rendered with FluidSynth using ${soundfont!.endsWith('FluidR3_GM.sf2') ? 'the FluidR3 GM sound font (Debian fluid-soundfont-gm, MIT licence, by Frank Wen)' : 'TimGM6mb (Debian timgm6mb-soundfont, GPL-2)'}.\n` +
    `- Speech: synthesised by espeak-ng (its output is free of the program's licence).\n` +
    `- All files: mono, 44.1 kHz, 16-bit.\n\n` +
    `data/demo/ is the demo dataset the default model was trained on; data/bench/ is the phase-reconstruction benchmark set.\n`,
);
