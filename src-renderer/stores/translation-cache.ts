// The translation-cache dump on screen: the one kept beside a saved experiment's
// binary-translation run (the API's loadTranslationCache), fetched when the viewer first needs
// it and kept while the same experiment is open. A dump is up to megabytes and never edited,
// so it is held shallowly; an answer for an experiment no longer asked for is dropped.

import { defineStore } from 'pinia';
import { ref, shallowRef } from 'vue';
import { type TranslationCacheDump } from '../../shared/translation-cache-dump';
import { lecturePresetSpec, ROUTINE_LABELS } from '../lecture-preset';
import { errorMessage, workbenchApi } from './api-context';
import { useExperimentStore } from './experiment';

/** A preset run on its way to the viewer: the labels of the routine it focuses on; `experimentId`
 *  once the experiment has started. The viewer applies it once, when that dump arrives. */
export interface PendingPreset {
  experimentId: string | null;
  symbols: Readonly<Record<string, number>>;
  applied: boolean;
}

export const useTranslationCacheStore = defineStore('translation-cache', () => {
  /** the experiment the dump is (or is being fetched) for */
  const experimentId = ref<string | null>(null);
  const dump = shallowRef<TranslationCacheDump | null>(null);
  const loading = ref(false);
  const error = ref<string | null>(null);
  let request = 0;
  const preset = ref<PendingPreset | null>(null);
  const presetError = ref<string | null>(null);
  let presetRequest = 0;

  /** "isprime(49), as in the lecture": ask for the routine's labels, then run the experiment
   *  through the Experiment store (as the Experiment view's Run does), opening this viewer on
   *  it when it is finished. Resolves false with `presetError` (or the experiment's error). */
  async function runLecturePreset(): Promise<boolean> {
    const experiment = useExperimentStore();
    presetError.value = null;
    if (experiment.busy) {
      presetError.value = 'an experiment is already running: wait for it or cancel it';
      return false;
    }
    let symbols: Readonly<Record<string, number>>;
    try {
      symbols = await workbenchApi().call({ method: 'kernelSymbols', names: [...ROUTINE_LABELS] });
    } catch (e) {
      presetError.value = `the routine's addresses could not be found: ${errorMessage(e)}`;
      return false;
    }
    const mine = ++presetRequest;
    preset.value = { experimentId: null, symbols, applied: false };
    const ok = await experiment.start(lecturePresetSpec(), undefined, 'translation-cache');
    if (mine !== presetRequest) return ok;
    if (ok && experiment.active) {
      preset.value = { experimentId: experiment.active.id, symbols, applied: false };
    } else preset.value = null;
    return ok;
  }

  /** Fetch experiment `id`'s dump, unless it is already here or on its way. */
  async function load(id: string): Promise<void> {
    if (experimentId.value === id && (dump.value !== null || loading.value)) return;
    const mine = ++request;
    experimentId.value = id;
    dump.value = null;
    error.value = null;
    loading.value = true;
    try {
      const answer = await workbenchApi().call({ method: 'loadTranslationCache', id });
      if (mine === request) dump.value = answer;
    } catch (e) {
      if (mine === request) error.value = errorMessage(e);
    } finally {
      if (mine === request) loading.value = false;
    }
  }

  /** Forget the dump (another experiment is open, or none). */
  function clear(): void {
    request++;
    experimentId.value = null;
    dump.value = null;
    error.value = null;
    loading.value = false;
  }

  return {
    experimentId,
    dump,
    loading,
    error,
    load,
    clear,
    preset,
    presetError,
    runLecturePreset,
  };
});
