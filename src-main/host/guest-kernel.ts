// The bundled guest kernel as bytes: src-main/engine/guest/kernel.asm assembled by our own
// assembler, natively or as the para-virtual build (-D PARAVIRT) of the same source. Cached
// per build, since every experiment on a workload boots the same image.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { assemble } from '../engine/asm/assembler';
import { FileSourceProvider } from './source-files';

/** The guest kernel's main source; its %include files sit next to it. */
export const GUEST_KERNEL_SOURCE = fileURLToPath(
  new URL('../engine/guest/kernel.asm', import.meta.url),
);

export type KernelBuild = 'native' | 'paravirt';

const cache = new Map<KernelBuild, Uint8Array>();
const symbolCache = new Map<KernelBuild, ReadonlyMap<string, number>>();

/** The kernel image of one build (throws AsmError if the source does not assemble). */
export function guestKernelImage(build: KernelBuild): Uint8Array {
  let bytes = cache.get(build);
  if (!bytes) {
    const source = GUEST_KERNEL_SOURCE;
    const out = assemble(readFileSync(source, 'latin1'), {
      file: source,
      defines: build === 'paravirt' ? [['PARAVIRT', '']] : [],
      provider: new FileSourceProvider([path.dirname(source)]),
    });
    bytes = out.bytes;
    cache.set(build, bytes);
    symbolCache.set(build, out.symbols);
  }
  return bytes;
}

/** The kernel's labels and their addresses in one build (`lecture_isprime`, …): what the
 *  translation-cache viewer and its tests use to find a routine's fragments. */
export function guestKernelSymbols(build: KernelBuild): ReadonlyMap<string, number> {
  guestKernelImage(build);
  return symbolCache.get(build)!;
}
