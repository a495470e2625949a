/**
 * `npm run bench -- NAME [options]` runs `bench/NAME.ts`, whose `main(argv)`
 * prints Markdown tables and, with `--json FILE`, writes the results.
 * Without a name every benchmark runs in turn with its defaults.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && !['index.ts', 'util.ts'].includes(f) && !f.startsWith('_'))
  .map((f) => f.slice(0, -3))
  .sort();

const [name, ...rest] = process.argv.slice(2);
if (name === '--help' || name === '-h') {
  console.log(`usage: npm run bench -- [${available.join('|')}] [options]\n(each benchmark takes --json FILE)`);
  process.exit(0);
}
const names = name ? [name] : available;
for (const n of names) {
  if (!available.includes(n)) {
    console.error(`bench: unknown benchmark '${n}'; choose one of: ${available.join(', ')}`);
    process.exit(2);
  }
  const mod = (await import(pathToFileURL(join(here, `${n}.ts`)).href)) as { main(argv: string[]): Promise<void> };
  console.log(`\n## bench ${n}`);
  await mod.main(name ? rest : []);
}
