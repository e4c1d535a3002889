// Options that `run` and `experiment` share: technique, ISA variant and CPU profile names,
// checked against the registries (never a list written here), and the host clock the CLI
// gives the engine. Every bad value is a UsageError that lists what is accepted.

import { type IsaVariant, ISA_VARIANTS } from '../engine/isa/types';
import { listProfiles, requireProfile } from '../engine/metrics/profiles';
import { type HostClock } from '../engine/run-spec';
import { listTechniques, requireTechnique } from '../engine/vmm';
import { SPEC_DEFAULTS } from '../../shared/results';
import { UsageError } from './args';

export const HOST_CLOCK: HostClock = { now: () => performance.now() };

/**
 * What `--techniques all` means: every registered technique, but for a kernel file only those
 * that boot the image as given (a para-virtual technique boots its own build of the bundled
 * kernel source and cannot run someone else's image).
 */
export function techniqueIds(forKernelFile = false): string[] {
  return listTechniques()
    .filter((t) => !forKernelFile || t.kernelBuild === 'native')
    .map((t) => t.id);
}

/** `lookup()`, with the registry's "unknown …" Error turned into a UsageError. */
export function usage<T>(lookup: () => T): T {
  try {
    return lookup();
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

export function parseTechnique(id: string): string {
  return usage(() => requireTechnique(id)).id;
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
  return usage(() => requireProfile(id)).id;
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
