// A kernel file a user gives the app: NASM source assembled exactly as nasm does — bytes in
// strings copied as they are, however they are encoded; large reservations fine — and every
// failure named with the file (and the line, for source).

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MAX_KERNEL_FILE_BYTES } from '../../shared/api';
import { prepareKernelImage } from '../../src-main/host/kernel-file';

const dir = mkdtempSync(path.join(tmpdir(), 'vmm-kernel-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const HEADER =
  'bits 32\norg 0x100000\nh: dd 0x1BADB002, 0x10000, -(0x1BADB002 + 0x10000)\n' +
  'dd h, h, e, b, s\ns: hlt\n';

function withNasm(source: Uint8Array): Uint8Array {
  const src = path.join(dir, 'k.asm');
  const out = path.join(dir, 'k.bin');
  writeFileSync(src, source);
  execFileSync('nasm', ['-f', 'bin', '-o', out, src]);
  return new Uint8Array(readFileSync(out));
}

describe('preparing a kernel file', () => {
  it('copies string bytes as nasm does: UTF-8 text and a lone latin1 byte alike', () => {
    const source = Buffer.concat([
      Buffer.from(`${HEADER}msg: db '`, 'latin1'),
      Buffer.from('— naïve ', 'utf8'),
      Buffer.from([0xe9]),
      Buffer.from("', 0\ne:\nb:\n", 'latin1'),
    ]);
    const { image, assembled } = prepareKernelImage('text.asm', source);
    expect(assembled).toBe(true);
    expect(Buffer.from(image).equals(Buffer.from(withNasm(source)))).toBe(true);
  });

  it('assembles a kernel with a large reserved area (a megabyte of zeroes)', () => {
    const source = Buffer.from(`${HEADER}e:\ntimes 0x100000 db 0\nb:\n`, 'latin1');
    const { image } = prepareKernelImage('big.asm', source);
    expect(image.length).toBe(withNasm(source).length);
  });

  it('refuses an image larger than a kernel may be, naming the file', () => {
    const source = Buffer.from(`${HEADER}e:\ntimes ${MAX_KERNEL_FILE_BYTES} db 0\nb:\n`, 'latin1');
    expect(() => prepareKernelImage('huge.asm', source)).toThrow(
      /^huge\.asm assembles to \d+ bytes: more than a kernel may have/,
    );
  });

  it('names the file and line of a source error, the file of an image that cannot boot', () => {
    expect(() => prepareKernelImage('e.asm', Buffer.from('bits 32\nfrob eax\n'))).toThrow(
      /^e\.asm:2(:\d+)?: error: /,
    );
    expect(() => prepareKernelImage('x.bin', Buffer.from('not a kernel'))).toThrow(
      /^x\.bin cannot boot: /,
    );
    expect(() => prepareKernelImage('empty.bin', new Uint8Array())).toThrow(
      'empty.bin is empty: it cannot be a kernel',
    );
  });
});
