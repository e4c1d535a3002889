// `npm run fuzz:qemu -- [--count N] [--seed S] [--runs R]`: differential fuzzing of the CPU
// against qemu-system-i386 beyond what CI runs. Prints one line per run and exits 1 on the
// first difference, naming the instruction.
import { differentialRun } from '../test/helpers/differential';

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isSafeInteger(v) || v <= 0) {
    console.error(`fuzz:qemu: --${name} expects a positive whole number`);
    process.exit(2);
  }
  return v;
}

const count = option('count', 10_000);
const seed = option('seed', 1);
const runs = option('runs', 1);
let failed = false;
for (let r = 0; r < runs; r++) {
  const result = differentialRun(seed + r, count);
  console.log(
    `seed ${result.seed}: ${result.count} instructions, ${result.lines} lines: ${result.equal ? 'identical to QEMU' : 'DIFFERENT'}`,
  );
  if (!result.equal) {
    console.log(JSON.stringify(result.firstDifference, null, 2));
    failed = true;
    break;
  }
}
process.exit(failed ? 1 : 0);
