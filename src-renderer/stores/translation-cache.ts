// The translation-cache dump on screen: the one kept beside a saved experiment's
// binary-translation run (the API's loadTranslationCache), fetched when the viewer first needs
// it and kept while the same experiment is open. A dump is up to megabytes and never edited,
// so it is held shallowly; an answer for an experiment no longer asked for is dropped.

import { defineStore } from 'pinia';
import { ref, shallowRef } from 'vue';
import { type TranslationCacheDump } from '../../shared/translation-cache-dump';
import { errorMessage, workbenchApi } from './api-context';

export const useTranslationCacheStore = defineStore('translation-cache', () => {
  /** the experiment the dump is (or is being fetched) for */
  const experimentId = ref<string | null>(null);
  const dump = shallowRef<TranslationCacheDump | null>(null);
  const loading = ref(false);
  const error = ref<string | null>(null);
  let request = 0;

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

  return { experimentId, dump, loading, error, load, clear };
});
