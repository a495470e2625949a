/**
 * `lts devices`: list the audio output devices PortAudio sees.
 */
import { createAudioOutput } from '../io/audio-out.ts';

/** Print one device per line (`ID  NAME  CHANNELS  RATE`), or why there is none (exit 0: having no device is not an error). */
export async function devicesCommand(_argv: string[]): Promise<number> {
  const out = createAudioOutput();
  try {
    const st = await out.status();
    if (!st.available) {
      console.log(st.reason);
      return 0;
    }
    const outputs = st.devices.filter((d) => d.maxOutputChannels > 0);
    if (outputs.length === 0) {
      console.log('no audio output device (renders are still written to files)');
      return 0;
    }
    for (const d of outputs) {
      console.log(`${String(d.id).padStart(3)}  ${d.name}  ${d.maxOutputChannels} ch  ${d.defaultSampleRate} Hz${d.isDefault ? '  (default)' : ''}`);
    }
    return 0;
  } finally {
    out.close();
  }
}
