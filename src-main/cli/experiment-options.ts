// Options that `run` and `experiment` share: technique, ISA variant and CPU profile names,
// checked against the registries (never a list written here), and the host clock the CLI
// gives the engine. Every bad value is a UsageError that lists what is accepted.

import { type IsaVariant, ISA_VARIANTS } from '../engine/isa/types';
import { listProfiles } from '../engine/metrics/profiles';
import { type HostClock } from '../engine/run-spec';
import { findTechnique, listTechniques } from '../engine/vmm';
import { SPEC_DEFAULTS } from '../../shared/results';
import { UsageError } from './args';

export const HOST_CLOCK: HostClock = { now: () => performance.now() };

export function techniqueIds(): string[] {
  return listTechniques().map((t) => t.id);
}

export function parseTechnique(id: string): string {
  if (!findTechnique(id)) {
    throw new UsageError(`unknown technique '${id}' (available: ${techniqueIds().join(', ')})`);
  }
  return id;
}

export function parseIsa(text: string | undefined): IsaVariant {
  const isa = (text ?? SPEC_DEFAULTS.isa) as IsaVariant;
  if (!ISA_VARIANTS.includes(isa)) {
    throw new UsageError(`--isa must be ${ISA_VARIANTS.join(' or ')}, not '${text}'`);
  }
  return isa;
}

export function parseProfile(text: string | undefined): string {
  const id = text ?? SPEC_DEFAULTS.profile;
  const ids = listProfiles().map((p) => p.id);
  if (!ids.includes(id)) {
    throw new UsageError(`unknown CPU profile '${id}' (available: ${ids.join(', ')})`);
  }
  return id;
}

/** The lines of --help that list techniques and profiles, from the registries. */
export function registryHelp(): string {
  const techniques = listTechniques()
    .map((t) => `                        ${t.id.padEnd(20)} ${t.summary}\n`)
    .join('');
  const profiles = listProfiles()
    .map((p) => `                        ${p.id.padEnd(20)} ${p.name}\n`)
    .join('');
  return `techniques:\n${techniques}CPU profiles (cost model; default ${SPEC_DEFAULTS.profile}):\n${profiles}`;
}
