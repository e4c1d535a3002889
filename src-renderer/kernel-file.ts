// A guest kernel file the user picks to run instead of the bundled kernel: a multiboot image
// or NASM source (`.asm`). In the app the native open dialog reads it; in the web preview an
// <input type=file> does. The main process then checks it (prepareKernel: source assembled,
// multiboot header found — errors come back at once, with the line for source) and answers
// the image as base64 (it travels with startExperiment) and its SHA-256, which the spec
// records and the main process checks against the bytes — so running a kernel-file
// experiment again can only run the very same image.

import { type KernelUpload, MAX_KERNEL_FILE_BYTES } from '../shared/api';
import { desktopBridge, desktopValue } from './desktop';
import { workbenchApi } from './stores/api-context';

export const KERNEL_FILE_ACCEPT = '.bin,.img,.asm';

/** A kernel file ready to run. */
export interface KernelPick {
  /** the image to run (assembled when the file was source), as startExperiment takes it */
  readonly upload: KernelUpload;
  /** lowercase hex SHA-256 of the image */
  readonly sha256: string;
  /** the image's size */
  readonly bytes: number;
  /** the picked file was NASM source */
  readonly assembled: boolean;
  /** the picked file's size */
  readonly sourceBytes: number;
}

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) {
    binary += String.fromCharCode(...bytes.subarray(i, i + chunk));
  }
  return btoa(binary);
}

/** A kernel file as the user picked it, checked and made runnable by the main process;
 *  throws an Error saying why it cannot run (empty, not bootable, a source error…). */
async function prepareUpload(upload: KernelUpload): Promise<KernelPick> {
  const prepared = await workbenchApi().call({ method: 'prepareKernel', file: upload });
  return {
    upload: { name: prepared.name, base64: prepared.base64 },
    sha256: prepared.sha256,
    bytes: prepared.bytes,
    assembled: prepared.assembled,
    sourceBytes: prepared.sourceBytes,
  };
}

/** A kernel file from a File of an <input type=file> (web preview). */
export async function kernelPickFromFile(file: File): Promise<KernelPick> {
  // refused before it is read: the main process would refuse it anyway
  if (file.size > MAX_KERNEL_FILE_BYTES) {
    throw new Error(
      `${file.name} is too large for a kernel (${file.size} bytes; at most ${MAX_KERNEL_FILE_BYTES})`,
    );
  }
  let buffer: ArrayBuffer;
  try {
    buffer = await file.arrayBuffer();
  } catch (e) {
    throw new Error(`${file.name} could not be read (${e instanceof Error ? e.message : e})`);
  }
  return prepareUpload({
    name: file.name.slice(0, 255) || 'kernel.bin',
    base64: toBase64(new Uint8Array(buffer)),
  });
}

/** Ask the user for a file through a transient <input type=file>; null when cancelled. */
function chooseWithInput(accept: string): Promise<File | null> {
  return new Promise((resolve) => {
    const input = document.createElement('input');
    input.type = 'file';
    input.accept = accept;
    input.style.display = 'none';
    let settled = false;
    const done = (file: File | null): void => {
      if (settled) return;
      settled = true;
      input.remove();
      resolve(file);
    };
    input.addEventListener('change', () => done(input.files?.[0] ?? null));
    input.addEventListener('cancel', () => done(null));
    // browsers without the `cancel` event: the window gets the focus back when the chooser
    // closes, and a `change` follows within moments if a file was chosen
    window.addEventListener('focus', () => setTimeout(() => done(input.files?.[0] ?? null), 1000), {
      once: true,
    });
    document.body.appendChild(input);
    input.click();
  });
}

/**
 * Let the user pick a kernel file: the native dialog in the app, the browser's file chooser
 * otherwise. Null when the user cancelled; throws an Error saying what is wrong with the file.
 */
export async function pickKernelFile(): Promise<KernelPick | null> {
  const desktop = desktopBridge();
  if (desktop) {
    // the native dialog read the file (and checked its size) already
    const upload = desktopValue(await desktop.openKernel());
    return upload ? prepareUpload(upload) : null;
  }
  const file = await chooseWithInput(KERNEL_FILE_ACCEPT);
  return file ? kernelPickFromFile(file) : null;
}
