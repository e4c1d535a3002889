// The technique plug-in contract (DESIGN.md principle 3): what a virtualization technique is
// given (the machine, the kernel image, the run options, the meter that charges its work) and
// what it must provide (boot the guest, run it). Techniques intercept exception, interrupt
// and I/O delivery through the CPU's DeliveryHook and the port bus; they never patch the
// executor. The runner, the CLI, the reports and the UI know techniques only through this.

import {
  type BinaryTranslationMetrics,
  type ParavirtMetrics,
  type SilentSensitive,
} from '../../../shared/results';
import { type TranslationCacheDump } from '../../../shared/translation-cache-dump';
import { type IsaVariant } from '../isa/types';
import { type EndReason } from '../machine/interfaces';
import { type Machine } from '../machine/machine';
import { type RunMeter } from '../metrics/meter';
import { type CpuProfile } from '../metrics/profiles';
import { type KernelImage } from '../run-spec';

export interface TechniqueInfo {
  /** registry id used by the CLI, the results and the UI (`native`, `trap-and-emulate`…) */
  readonly id: string;
  /** display name */
  readonly name: string;
  /** one line: what the technique does */
  readonly summary: string;
  /** where the lecture or TECHNIQUES.md discusses it */
  readonly reference: string;
  /** which build of the guest kernel it boots */
  readonly kernelBuild: KernelImage['build'];
  /** host-physical memory the technique reserves above the guest's RAM for its own structures */
  readonly hypervisorMemoryBytes?: number;
}

/** Everything a technique gets for one run. */
export interface TechniqueContext {
  readonly machine: Machine;
  readonly kernel: KernelImage;
  /** the full multiboot command line (kernel path, a space, the appended words) */
  readonly cmdline: string;
  readonly isa: IsaVariant;
  readonly profile: CpuProfile;
  /** where the technique counts its traps and charges its work (cost model, cache model) */
  readonly meter: RunMeter;
}

/** How long one call of `run` may go on. */
export interface SessionLimits {
  /** stop at this many guest instructions (returns instruction-limit) */
  readonly maxInstructions: number;
  /** polled between batches */
  readonly shouldStop: () => boolean;
}

/** One technique's hold on one machine for one run. */
export interface TechniqueSession {
  /** Run the guest until it ends or a limit is reached; called repeatedly, it resumes. */
  run(limits: SessionLimits): EndReason;
  /** the sensitive instructions that ran deprivileged without a trap, for techniques that
   *  run the guest kernel deprivileged on classic x86 */
  silentSensitive?(): SilentSensitive | null;
  /** what a para-virtualization hypervisor did through the para-API */
  paravirt?(): ParavirtMetrics;
  /** what a binary translator did with the guest kernel's code (units, fragments, chaining,
   *  callouts, invalidations), counted so far: called once the run has ended, a run that did
   *  not finish included */
  binaryTranslation?(): BinaryTranslationMetrics;
  /** what a binary translator's cache holds and how it got there, for `--tc-dump` and the
   *  translation-cache viewer (shared/translation-cache-dump.ts) */
  translationCache?(): TranslationCacheDump;
}

/**
 * The guest did something this technique cannot virtualize (memory it does not have, a write
 * the hypervisor cannot emulate): the run fails with this message, naming what and where.
 */
export class GuestNotVirtualizable extends Error {
  override readonly name = 'GuestNotVirtualizable';
}

export interface Technique extends TechniqueInfo {
  /** Load the kernel and set the machine up the way the technique runs a guest. */
  boot(context: TechniqueContext): TechniqueSession;
}
