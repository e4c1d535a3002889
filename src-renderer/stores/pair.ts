// "Compare two" of the History view: which two experiments are selected, loading both, and
// their comparison (shared/experiment-pair.ts) while the panel is open.
//
// Selecting a third experiment replaces the oldest selection rather than being refused: the
// checkboxes then never go disabled (a disabled checkbox says nothing about why, and changing
// one's mind would take two clicks: uncheck, then check), and "the last two I ticked" is what
// gets compared. The view says which two are selected, in a live region, so the checkbox that
// was cleared is announced. `canCompare` still insists on exactly two, whatever sets
// `selected`.
//
// A is the earlier experiment (by createdAt), B the later, so B ÷ A reads "how the later run
// changed"; "Swap A and B" turns it round.

import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import { compareExperiments, type ExperimentPair } from '../../shared/experiment-pair';
import { type HistoryFile } from '../../shared/results';
import { errorMessage, workbenchApi } from './api-context';

/** How many experiments a comparison takes. */
export const PAIR_SIZE = 2;

export const usePairStore = defineStore('pair', () => {
  /** the selected ids, oldest selection first */
  const selected = ref<string[]>([]);
  const loading = ref(false);
  const error = ref<string | null>(null);
  /** the two loaded experiments, A then B; null while no comparison is open */
  const files = shallowRef<readonly [HistoryFile, HistoryFile] | null>(null);
  /** ignores the answers of a comparison that a newer one (or a close) superseded */
  let generation = 0;

  const canCompare = computed(() => selected.value.length === PAIR_SIZE && !loading.value);
  const comparison = computed<ExperimentPair | null>(() =>
    files.value ? compareExperiments(files.value[0], files.value[1]) : null,
  );

  function isSelected(id: string): boolean {
    return selected.value.includes(id);
  }

  /** Select `id` (a third selection drops the oldest), or deselect it when `on` is false. */
  function select(id: string, on = true): void {
    const rest = selected.value.filter((s) => s !== id);
    selected.value = on ? [...rest, id].slice(-PAIR_SIZE) : rest;
  }

  function toggle(id: string): void {
    select(id, !isSelected(id));
  }

  /** Keep only the selections among `ids` (after a refresh or a delete), and close a
   *  comparison of an experiment that is no longer there. */
  function keepOnly(ids: readonly string[]): void {
    const known = new Set(ids);
    if (selected.value.some((id) => !known.has(id))) {
      selected.value = selected.value.filter((id) => known.has(id));
    }
    if (files.value?.some((f) => !known.has(f.id))) close();
  }

  /** Load the two selected experiments and open their comparison. Resolves false (with
   *  `error` naming each experiment that could not be loaded, in the API's words) on failure. */
  async function compare(): Promise<boolean> {
    if (selected.value.length !== PAIR_SIZE || loading.value) return false;
    const ids = [...selected.value];
    const mine = ++generation;
    loading.value = true;
    error.value = null;
    try {
      const answers = await Promise.allSettled(
        ids.map(async (id) => workbenchApi().call({ method: 'loadExperiment', id })),
      );
      if (mine !== generation) return false;
      const problems = answers.flatMap((a, i) =>
        a.status === 'rejected'
          ? [`could not load experiment ${ids[i]}: ${errorMessage(a.reason)}`]
          : [],
      );
      if (problems.length > 0) {
        error.value = problems.join('; ');
        files.value = null;
        return false;
      }
      const loaded = answers.map((a) => (a as PromiseFulfilledResult<HistoryFile>).value);
      // A is the earlier experiment; on equal times, the one selected first
      const [a, b] = [...loaded].sort((x, y) =>
        x.createdAt < y.createdAt ? -1 : x.createdAt > y.createdAt ? 1 : 0,
      ) as [HistoryFile, HistoryFile];
      files.value = [a, b];
      return true;
    } finally {
      if (mine === generation) loading.value = false;
    }
  }

  function swap(): void {
    if (files.value) files.value = [files.value[1], files.value[0]];
  }

  /** Close the comparison (the selection stays, to compare again). */
  function close(): void {
    generation++;
    loading.value = false;
    files.value = null;
    error.value = null;
  }

  return {
    selected,
    loading,
    error,
    files,
    canCompare,
    comparison,
    isSelected,
    select,
    toggle,
    keepOnly,
    compare,
    swap,
    close,
  };
});
