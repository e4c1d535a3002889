// Benchmark: assembler throughput (source lines per second) on a large generated source, and
// the same source through nasm in the same run, for a ratio that does not depend on how busy
// the machine is.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { assemble } from '../src-main/engine/asm/assembler';
import { generateCorpus } from '../test/engine/isa/corpus';

export interface BenchResult {
  name: string;
  figures: Record<string, string | number>;
}

/** A source of about `lines` lines: the table corpus repeated, with labels, loops and a macro. */
export function largeSource(lines: number): string {
  const corpus = generateCorpus();
  const out = ['bits 32', 'org 0x100000', '%macro save 1', '  push %1', '  pushfd', '%endmacro'];
  let n = 0;
  for (let block = 0; n < lines; block++) {
    out.push(`block${block}:`);
    for (let i = 0; i < 200 && n < lines; i++, n++) {
      if (i % 50 === 0) out.push(`.l${i}: save eax`);
      else if (i % 50 === 49) out.push(`  jnz .l${i - 49}`);
      else out.push('  ' + corpus[(block * 200 + i) % corpus.length]!);
    }
  }
  return out.join('\n') + '\n';
}

export function benchAssembler(lines = 200_000): BenchResult {
  const source = largeSource(lines);
  const count = source.split('\n').length;
  const t0 = performance.now();
  const result = assemble(source, { file: 'bench.asm' });
  const ours = (performance.now() - t0) / 1000;

  const dir = mkdtempSync(path.join(tmpdir(), 'vmwb-bench-'));
  let nasmSeconds: number | undefined;
  try {
    writeFileSync(path.join(dir, 'b.asm'), source);
    const t1 = performance.now();
    const r = spawnSync('nasm', [
      '-f',
      'bin',
      '-w-all',
      '-o',
      path.join(dir, 'b.bin'),
      path.join(dir, 'b.asm'),
    ]);
    if (r.status === 0) nasmSeconds = (performance.now() - t1) / 1000;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    name: 'assembler',
    figures: {
      'source lines': count,
      'output bytes': result.bytes.length,
      passes: result.passes,
      'seconds (ours)': ours.toFixed(2),
      'lines/s (ours)': Math.round(count / ours),
      'lines/s (nasm)': nasmSeconds ? Math.round(count / nasmSeconds) : 'nasm not available',
      'nasm time / our time': nasmSeconds ? (nasmSeconds / ours).toFixed(2) : '—',
    },
  };
}
