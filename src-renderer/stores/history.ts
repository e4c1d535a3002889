// The experiment history as the main process lists it: entries newest first, and the files
// that could not be read with the reason, which the History view shows rather than hides.

import { defineStore } from 'pinia';
import { ref, shallowRef } from 'vue';
import { type HistoryView } from '../../shared/api';
import { errorMessage, workbenchApi } from './api-context';
import { useResultsStore } from './results';

export const useHistoryStore = defineStore('history', () => {
  const view = shallowRef<HistoryView | null>(null);
  const loading = ref(false);
  const error = ref<string | null>(null);
  /** the id being deleted, for the row's busy state */
  const deleting = ref<string | null>(null);

  async function refresh(): Promise<void> {
    loading.value = true;
    error.value = null;
    try {
      view.value = await workbenchApi().call({ method: 'listHistory' });
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
      }
      return true;
    } catch (e) {
      error.value = `could not delete ${id}: ${errorMessage(e)}`;
      return false;
    } finally {
      deleting.value = null;
    }
  }

  return { view, loading, error, deleting, refresh, remove };
});
