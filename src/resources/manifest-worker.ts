// Worker thread for large manifest files: YAML parsing and validation off the event loop. Results come back by
// structured clone (Secret data as Uint8Array, which the caller turns back into Buffers).
import { parentPort } from 'node:worker_threads';
import { parseManifestFile } from './manifests.js';
import { entryFingerprint } from './manifest-parse.js';

parentPort!.on('message', ({ id, text, file }: { id: number; text: string; file: string }) => {
  try {
    const parsed = parseManifestFile(text, file);
    const fingerprints = parsed.entries.map((e) => entryFingerprint(e.object));
    parentPort!.postMessage({ id, parsed, fingerprints });
  } catch (err) {
    parentPort!.postMessage({ id, error: (err as Error).message });
  }
});
