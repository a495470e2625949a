/**
 * Test helper for the listen tests: Debian's chromium (apt-get install chromium) driven by
 * playwright-core, headless, with the flags this closed network needs (without the
 * background-networking ones its connections are refused) and autoplay allowed.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

/** The Debian package's binary. */
export const CHROMIUM = '/usr/bin/chromium';

/** Launch chromium with a fresh profile; close the returned context when done. */
export async function launchChromium(viewport = { width: 1100, height: 900 }): Promise<BrowserContext> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (scripts/system-deps.sh test)`);
  return chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'lts-chromium-')), {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
}
