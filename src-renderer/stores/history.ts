// The experiment history as the main process lists it: entries newest first, and the files
// that could not be read with the reason, which the History view shows rather than hides.
// Also "Run again": the same spec once more — for a kernel-file experiment only after the user
// has picked that very file again (the history keeps its name and SHA-256, not its bytes).

import { defineStore } from 'pinia';
import { ref, shallowRef } from 'vue';
import { type HistoryView } from '../../shared/api';
import { type ExperimentSpec } from '../../shared/results';
import { pickKernelFile } from '../kernel-file';
import { errorMessage, workbenchApi } from './api-context';
import { useExperimentStore } from './experiment';
import { usePairStore } from './pair';
import { useResultsStore } from './results';
import { useUiStore } from './ui';

/** How much of a SHA-256 the mismatch message shows (hex digits). */
const HASH_PREFIX = 12;

/** Why `picked` cannot stand in for the kernel file of `spec`, or null when it is that file. */
export function kernelMismatch(
  spec: ExperimentSpec,
  picked: { name: string; sha256: string },
): string | null {
  const k = spec.kernel;
  if (k.kind !== 'file' || picked.sha256 === k.sha256) return null;
  const same = picked.name === k.name ? '' : ` (${k.name})`;
  return (
    `${picked.name} is not the file this experiment ran${same}: its SHA-256 starts ` +
    `${picked.sha256.slice(0, HASH_PREFIX)}…, the experiment's starts ${k.sha256.slice(0, HASH_PREFIX)}…`
  );
}

export const useHistoryStore = defineStore('history', () => {
  const view = shallowRef<HistoryView | null>(null);
  const loading = ref(false);
  const error = ref<string | null>(null);
  /** the id being deleted, for the row's busy state */
  const deleting = ref<string | null>(null);
  /** why the last "Run again" did not start (a kernel file that is not the one, or unreadable) */
  const rerunError = ref<string | null>(null);
  /** the id whose kernel file is being picked, for the row's busy state */
  const picking = ref<string | null>(null);

  async function refresh(): Promise<void> {
    loading.value = true;
    error.value = null;
    try {
      view.value = await workbenchApi().call({ method: 'listHistory' });
      usePairStore().keepOnly(view.value.entries.map((e) => e.id));
    } catch (e) {
      error.value = `could not list the history: ${errorMessage(e)}`;
    } finally {
      loading.value = false;
    }
  }

  /** Delete experiment `id` and list again. */
  async function remove(id: string): Promise<boolean> {
    deleting.value = id;
    error.value = null;
    try {
      await workbenchApi().call({ method: 'deleteExperiment', id });
      const results = useResultsStore();
      if (results.file?.id === id) results.set(null);
      if (view.value) {
        view.value = { ...view.value, entries: view.value.entries.filter((e) => e.id !== id) };
        usePairStore().keepOnly(view.value.entries.map((e) => e.id));
      } else {
        usePairStore().keepOnly([]);
      }
      return true;
    } catch (e) {
      error.value = `could not delete ${id}: ${errorMessage(e)}`;
      return false;
    } finally {
      deleting.value = null;
    }
  }

  /**
   * Run experiment `id`'s spec again, in the Experiment view. A kernel-file experiment first
   * asks for the file (pickKernelFile) and starts only when its SHA-256 is the recorded one.
   * Resolves false when nothing started: cancelled, refused (`rerunError` says why), or the
   * experiment store refused the start (its `error` says why).
   */
  async function rerun(id: string, spec: ExperimentSpec): Promise<boolean> {
    const experiment = useExperimentStore();
    rerunError.value = null;
    if (experiment.busy || picking.value !== null) return false;
    if (spec.kernel.kind !== 'file') {
      useUiStore().show('experiment');
      return experiment.start(spec);
    }
    picking.value = id;
    let pick;
    try {
      pick = await pickKernelFile();
    } catch (e) {
      rerunError.value = errorMessage(e);
      return false;
    } finally {
      picking.value = null;
    }
    if (!pick) return false; // the user cancelled the file dialog
    const mismatch = kernelMismatch(spec, { name: pick.upload.name, sha256: pick.sha256 });
    if (mismatch) {
      rerunError.value = mismatch;
      return false;
    }
    if (experiment.busy) {
      // another experiment started while the file was being chosen
      rerunError.value = 'another experiment started meanwhile: run this one again once it ends';
      return false;
    }
    useUiStore().show('experiment');
    return experiment.start(spec, pick.upload);
  }

  return {
    view,
    loading,
    error,
    deleting,
    rerunError,
    picking,
    refresh,
    remove,
    rerun,
  };
});
