// A kernel file a user gives the app: NASM source (`.asm`) is assembled as the CLI does — but
// with nothing to %include, since the app has only the one file — and the image must carry a
// multiboot header the loader accepts. Runs in a worker thread (src-main/workers): assembling
// a large source takes seconds, which the main process, serving the window, must not wait.
// Errors name the file and, for source, the line and column.

import { MAX_KERNEL_FILE_BYTES } from '../../shared/api';
import { assemble } from '../engine/asm/assembler';
import { AsmError } from '../engine/asm/diagnostics';
import { parseMultibootHeader } from '../engine/machine/multiboot';

export interface PreparedImage {
  readonly image: Uint8Array;
  /** the file was NASM source */
  readonly assembled: boolean;
}

/** The bootable image of kernel file `name`; throws an Error saying why there is none. */
export function prepareKernelImage(name: string, source: Uint8Array): PreparedImage {
  if (source.length === 0) throw new Error(`${name} is empty: it cannot be a kernel`);
  const assembled = /\.asm$/i.test(name);
  let image = source;
  if (assembled) {
    try {
      // latin1, one character per byte, exactly as the CLI reads source
      image = assemble(Buffer.from(source).toString('latin1'), { file: name }).bytes;
    } catch (e) {
      if (!(e instanceof AsmError)) throw new Error(`${name}: ${(e as Error).message}`);
      const hint = /include/i.test(e.message)
        ? ' (a kernel given to the app is one file: inline what it includes, or assemble it with `vmm-workbench asm -I` and give the image)'
        : '';
      throw new Error(`${e.format()}${hint}`);
    }
  }
  if (image.length > MAX_KERNEL_FILE_BYTES) {
    throw new Error(
      `${name} assembles to ${image.length} bytes: more than a kernel may have (${MAX_KERNEL_FILE_BYTES})`,
    );
  }
  try {
    parseMultibootHeader(image);
  } catch (e) {
    throw new Error(
      `${name}${assembled ? ' (assembled)' : ''} cannot boot: ${(e as Error).message}`,
    );
  }
  return { image, assembled };
}
