// The hypervisor's layering (issue 13, DESIGN.md "Layers"): each technique folder under
// src-main/engine/vmm/techniques/ holds only what is its own and imports the shared core
// (vmm/virtual-cpu.ts, vmm/shadow-paging/, vmm/reflect.ts…), never another technique's folder.
// Read from the import graph itself: every static import and export-from of every file.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const TECHNIQUES = path.resolve(__dirname, '../../../src-main/engine/vmm/techniques');
const IMPORT = /(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*['"]([^'"]+)['"]/g;

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? filesUnder(full) : /\.ts$/.test(name) ? [full] : [];
  });
}

/** The technique folder a file lies in, or undefined outside techniques/. */
function techniqueOf(file: string): string | undefined {
  const rel = path.relative(TECHNIQUES, file);
  return rel.startsWith('..') ? undefined : rel.split(path.sep)[0];
}

function crossImports(): string[] {
  const found: string[] = [];
  for (const file of filesUnder(TECHNIQUES)) {
    const own = techniqueOf(file);
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const spec = m[1]!;
      if (!spec.startsWith('.')) continue;
      const other = techniqueOf(path.resolve(path.dirname(file), spec));
      if (other !== undefined && other !== own) {
        found.push(`${path.relative(TECHNIQUES, file)} imports ${spec} (technique '${other}')`);
      }
    }
  }
  return found;
}

describe('technique folders', () => {
  it('each technique imports the hypervisor core, never another technique', () => {
    expect(filesUnder(TECHNIQUES).length).toBeGreaterThan(3);
    expect(crossImports()).toEqual([]);
  });

  it('the check sees a cross import when there is one', () => {
    const probe = 'export { x } from "../trap-and-emulate/hypervisor";';
    const m = [...probe.matchAll(IMPORT)].map((x) => x[1]);
    expect(m).toEqual(['../trap-and-emulate/hypervisor']);
    const from = path.join(TECHNIQUES, 'paravirt', 'index.ts');
    expect(techniqueOf(path.resolve(path.dirname(from), m[0]!))).toBe('trap-and-emulate');
    expect(techniqueOf(path.join(TECHNIQUES, '..', 'virtual-cpu.ts'))).toBeUndefined();
  });
});
