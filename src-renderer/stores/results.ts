// The experiment on screen: one HistoryFile (results.json plus its id in the history), loaded
// from the history, opened from a `.vmwb.json` file, or just finished. The charts are built
// from it by shared/charts.ts, the same definitions the HTML report draws, so the app shows
// exactly the numbers of results.json.

import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import { MAX_EXPERIMENT_FILE_CHARS, type ExportedFile, type ExportFormat } from '../../shared/api';
import { buildCharts, nativeRun, runLabels, type ChartDefinition } from '../../shared/charts';
import { type HistoryFile } from '../../shared/results';
import { errorMessage, workbenchApi } from './api-context';

export const useResultsStore = defineStore('results', () => {
  /** shallow: a file holds up to 5,000 log entries and 256 KiB of output per run, and is
   *  never edited in place — only replaced */
  const file = shallowRef<HistoryFile | null>(null);
  const loading = ref(false);
  const error = ref<string | null>(null);
  /** a running export or import, for the buttons' busy state */
  const busy = ref<string | null>(null);

  const charts = computed<ChartDefinition[]>(() => {
    const f = file.value;
    if (!f) return [];
    return buildCharts(f);
  });
  const labels = computed(() => (file.value ? runLabels(file.value.runs) : []));
  const native = computed(() => (file.value ? nativeRun(file.value) : undefined));

  function set(value: HistoryFile | null): void {
    file.value = value;
    error.value = null;
  }

  /** Load experiment `id` from the history. Resolves false (with `error` set) on failure. */
  async function load(id: string): Promise<boolean> {
    loading.value = true;
    error.value = null;
    try {
      file.value = await workbenchApi().call({ method: 'loadExperiment', id });
      return true;
    } catch (e) {
      error.value = `could not open experiment ${id}: ${errorMessage(e)}`;
      return false;
    } finally {
      loading.value = false;
    }
  }

  /** Open a `.vmwb.json` (or results.json) the user picked: the main process checks it and
   *  adds it to the history, and it becomes the experiment on screen. Throws an Error saying
   *  what is wrong with the file (the API's message) when it is not one. */
  async function importFile(fileName: string, text: string): Promise<HistoryFile> {
    if (text.length > MAX_EXPERIMENT_FILE_CHARS) {
      throw new Error(
        `${fileName} is too large to be an experiment file (${text.length.toLocaleString('en-US')} characters; at most ${MAX_EXPERIMENT_FILE_CHARS.toLocaleString('en-US')})`,
      );
    }
    busy.value = 'import';
    try {
      const imported = await workbenchApi().call({ method: 'importExperiment', fileName, text });
      set(imported);
      return imported;
    } finally {
      busy.value = null;
    }
  }

  /** The current experiment as a file to save (the caller hands it to the user). Throws an
   *  Error with the reason when it cannot be made. */
  async function exportAs(format: ExportFormat): Promise<ExportedFile> {
    const f = file.value;
    if (!f)
      throw new Error('nothing to export yet: run an experiment or open one from the history');
    busy.value = `export-${format}`;
    try {
      return await workbenchApi().call({ method: 'exportExperiment', id: f.id, format });
    } finally {
      busy.value = null;
    }
  }

  /** Run `task` with the buttons showing `label` as busy (a desktop save, a chart image). */
  async function whileBusy<T>(label: string, task: () => Promise<T>): Promise<T> {
    busy.value = label;
    try {
      return await task();
    } finally {
      busy.value = null;
    }
  }

  return {
    file,
    loading,
    error,
    busy,
    charts,
    labels,
    native,
    set,
    load,
    importFile,
    exportAs,
    whileBusy,
  };
});
