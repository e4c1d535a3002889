// Writes src-main/engine/guest/paravirt-abi.inc from the ABI data (paravirt-abi.ts), the one
// generated guest file. `--check` only compares and exits 1 on a difference (for CI). Run from
// the repository root: `npm run gen:abi` (tsx scripts/gen-abi.ts).
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ABI_INCLUDE_PATH, generateAbiInclude } from '../src-main/engine/guest/gen-abi';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const target = path.join(root, ABI_INCLUDE_PATH);
const text = generateAbiInclude();

if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch {
    // a missing file is a difference like any other
  }
  if (current !== text) {
    process.stderr.write(`${ABI_INCLUDE_PATH} is out of date: run npm run gen:abi\n`);
    process.exitCode = 1;
  }
} else {
  writeFileSync(target, text);
  process.stdout.write(`wrote ${ABI_INCLUDE_PATH}\n`);
}
