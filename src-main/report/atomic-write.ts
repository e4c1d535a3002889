// Atomic file writes for the reports: every file appears whole or not at all. A crash (or a
// full disk) halfway through a report leaves at most a `NAME.tmp-PID` file next to it, never a
// truncated results.json that the history would then fail to load.

import { open, rename, rm } from 'node:fs/promises';

/** Write `data` to `path` via `path.tmp-<pid>`, flushed to disk, then renamed over `path`. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    const handle = await open(tmp, 'w');
    try {
      await handle.writeFile(data);
      // without the flush a power cut after the rename can still leave an empty file
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}
