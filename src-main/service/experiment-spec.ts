// Turning what a user (CLI flags, an IPC message, a web form) asks for into runnable work: it
// owns the checks an ExperimentSpec must pass before anything runs — the schema, then the
// meaning (techniques, profile and workload exist; a kernel file's bytes are the ones the spec
// names) — and the one place that derives each technique's RunSpec (which kernel bytes, which
// command line). Every problem is a SpecError naming the field, because the UI puts the
// message next to that field and the CLI prints it as `field: message`.

import { type z } from 'zod';
import {
  describeSchemaError,
  type ExperimentSpec,
  ExperimentSpecSchema,
  SPEC_DEFAULTS,
} from '../../shared/results';
import { kernelArguments } from '../engine/experiment';
import { requireWorkload } from '../engine/guest/workloads';
import { multibootCommandLine } from '../engine/machine/multiboot';
import { requireProfile } from '../engine/metrics/profiles';
import { sha256Hex as sha256 } from '../engine/metrics/sha256';
import { type KernelImage, type RunSpec } from '../engine/run-spec';
import { requireTechnique } from '../engine/vmm';
import { guestKernelImage } from '../host/guest-kernel';

/** A spec that cannot run; `field` is the dotted path of the culprit (`techniques.1`). */
export class SpecError extends Error {
  readonly field: string;
  /** the problem without the field name */
  readonly detail: string;
  constructor(field: string, detail: string) {
    super(`${field}: ${detail}`);
    this.name = 'SpecError';
    this.field = field;
    this.detail = detail;
  }
}

/** A kernel file the user chose: its name and its bytes (they travel apart from the spec). */
export interface KernelFile {
  readonly name: string;
  readonly bytes: Uint8Array;
}

/** The technique every experiment runs first: the baseline and the equivalence reference. */
export const BASELINE_TECHNIQUE = 'native';

/** The kernel path of the bundled guest kernel on its command line. */
export const BUNDLED_KERNEL_PATH = 'vmm-guest.bin';
/** How the bundled guest kernel is named in results. */
export const BUNDLED_KERNEL_NAME = 'guest kernel';

/** One technique's run of a checked experiment, with what the ETA needs to know about it. */
export interface PlannedRun {
  readonly runSpec: RunSpec;
  /** SHA-256 of the kernel bytes this technique boots */
  readonly kernelSha256: string;
  /** the multiboot command line, as RunResult.cmdline will say */
  readonly cmdline: string;
}

export interface PreparedExperiment {
  /** the spec as it runs: defaults filled in, native first, no duplicates */
  readonly spec: ExperimentSpec;
  readonly runs: readonly PlannedRun[];
}

/** The spec schema, strict: a misspelt optional field (`apend`) is an error, not a default. */
const StrictSpecSchema = ExperimentSpecSchema.strict();

/** Check `input` and plan one run per technique. Throws SpecError. */
export function prepareExperiment(input: unknown, kernelFile?: KernelFile): PreparedExperiment {
  const spec = checkSchema(input);
  if (/(^|\s)mmu_batch=/.test(spec.append)) {
    // the results would say "batched" (or not) while the guest did what the word said
    throw new SpecError(
      'append',
      'mmu_batch= is set by mmuBatch (the CLI’s --no-batch, the form’s checkbox), not among the arguments',
    );
  }
  const techniques = [BASELINE_TECHNIQUE, ...spec.techniques].filter(
    (t, i, all) => all.indexOf(t) === i,
  );
  // errors point into the techniques the user gave (native may not be among them)
  const techniqueField = (id: string): string =>
    `techniques.${Math.max(0, spec.techniques.indexOf(id))}`;
  const builds = techniques.map((id) => checked(techniqueField(id), () => requireTechnique(id)));
  checked('profile', () => requireProfile(spec.profile));
  const full: ExperimentSpec = { ...spec, techniques };
  const args = kernelArguments(full);
  const kernel = full.kernel;
  let imageFor: (build: KernelImage['build'], index: number) => KernelImage;
  let kernelPath: string;
  if (kernel.kind === 'workload') {
    checked('kernel.workload', () => requireWorkload(kernel.workload));
    if (kernelFile) {
      throw new SpecError(
        'kernel',
        `a kernel file (${kernelFile.name}) was given, but the spec runs workload '${kernel.workload}' on the bundled kernel`,
      );
    }
    kernelPath = BUNDLED_KERNEL_PATH;
    imageFor = (build) => ({ name: BUNDLED_KERNEL_NAME, image: guestKernelImage(build), build });
  } else {
    if (!kernelFile) {
      throw new SpecError(
        'kernel',
        `the spec runs the kernel file '${kernel.name}', but no file bytes were given`,
      );
    }
    const actual = sha256(kernelFile.bytes);
    if (actual !== kernel.sha256) {
      throw new SpecError(
        'kernel.sha256',
        `the file's bytes have SHA-256 ${actual}, the spec says ${kernel.sha256} (a different or changed file)`,
      );
    }
    kernelPath = baseName(kernel.name);
    imageFor = (build, index) => {
      // para-virtualization boots the para-API build of the bundled kernel's source; a file
      // is one binary, with no such build to take
      if (build === 'paravirt') {
        throw new SpecError(
          techniqueField(techniques[index]!),
          `technique '${techniques[index]}' runs a para-virtualized build of the bundled guest kernel and cannot run a kernel file`,
        );
      }
      return { name: kernel.name, image: kernelFile.bytes, build };
    };
  }
  const cmdline = multibootCommandLine(kernelPath, args);
  const hashes = new Map<Uint8Array, string>();
  const runs = techniques.map((technique, index): PlannedRun => {
    const image = imageFor(builds[index]!.kernelBuild, index);
    let hash = hashes.get(image.image);
    if (hash === undefined) hashes.set(image.image, (hash = sha256(image.image)));
    return {
      runSpec: { experiment: full, technique, kernel: image, kernelPath },
      kernelSha256: hash,
      cmdline,
    };
  });
  return { spec: full, runs };
}

/** Fill the defaults a user rarely sets, then check the shape. */
function checkSchema(input: unknown): ExperimentSpec {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new SpecError('(top level)', 'an experiment spec must be an object');
  }
  const filled: Record<string, unknown> = { ...input };
  for (const [key, value] of Object.entries(SPEC_DEFAULTS)) {
    // an explicit `undefined` (a form field left empty) means "the default" too
    if (filled[key] === undefined) filled[key] = value;
  }
  const parsed = StrictSpecSchema.safeParse(filled);
  if (!parsed.success) {
    const first = parsed.error.issues[0]!;
    // an unknown key is reported at the object that has it: name the key itself
    const keys = first.code === 'unrecognized_keys' ? first.keys : [];
    const field = [...first.path, ...keys.slice(0, 1)].join('.') || '(top level)';
    const rest = parsed.error.issues.slice(1);
    const also =
      rest.length > 0 ? ` (also ${describeSchemaError({ issues: rest } as z.ZodError)})` : '';
    throw new SpecError(field, `${first.message}${also}`);
  }
  return parsed.data;
}

/** `lookup()`, with the registry's "unknown …" Error turned into a SpecError on `field`. */
function checked<T>(field: string, lookup: () => T): T {
  try {
    return lookup();
  } catch (e) {
    throw new SpecError(field, (e as Error).message);
  }
}

/** The last component of a path as a user may type it on any OS. */
function baseName(name: string): string {
  return (
    name
      .split(/[\\/]/)
      .filter((s) => s !== '')
      .at(-1) ?? name
  );
}
