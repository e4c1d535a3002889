// `npm run bench`: performance figures, each measured within one run and reported with a
// reference measured in the same run (these machines are shared, so absolute times drift).

import { benchAssembler, type BenchResult } from './assembler';
import { benchExperiment } from './experiment';
import { benchMachine } from './machine';

const BENCHES: Record<string, () => BenchResult | Promise<BenchResult>> = {
  assembler: () => benchAssembler(),
  machine: () => benchMachine(),
  experiment: () => benchExperiment(),
};

const only = process.argv.slice(2);
for (const [name, run] of Object.entries(BENCHES)) {
  if (only.length > 0 && !only.includes(name)) continue;
  const result = await run();
  console.log(`\n## ${result.name}`);
  const width = Math.max(...Object.keys(result.figures).map((k) => k.length));
  for (const [k, v] of Object.entries(result.figures)) console.log(`  ${k.padEnd(width)}  ${v}`);
}
