// What can be run: techniques, workloads, CPU profiles and ISA variants, as the main process's
// registries list them (never hard-coded here, DESIGN.md principle 3). Loaded once; a failure
// is kept so the Experiment view can say why nothing is listed and offer to retry.

import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import { API_VERSION, type Catalog } from '../../shared/api';
import { errorMessage, workbenchApi } from './api-context';

/** The technique every experiment includes: the baseline of every ratio. */
export const BASELINE_TECHNIQUE = 'native';

export const useCatalogStore = defineStore('catalog', () => {
  const catalog = shallowRef<Catalog | null>(null);
  const loading = ref(false);
  const error = ref<string | null>(null);
  let pending: Promise<void> | null = null;

  /** Load the catalog (once; `force` reloads). */
  function load(force = false): Promise<void> {
    if (pending) return pending;
    if (catalog.value && !force) return Promise.resolve();
    loading.value = true;
    error.value = null;
    pending = workbenchApi()
      .call({ method: 'catalog' })
      .then((value) => {
        if (value.apiVersion !== API_VERSION) {
          error.value = `the workbench speaks API version ${value.apiVersion}, this window ${API_VERSION}: update or rebuild the app`;
        }
        catalog.value = value;
      })
      .catch((e: unknown) => {
        error.value = errorMessage(e);
      })
      .finally(() => {
        loading.value = false;
        pending = null;
      });
    return pending;
  }

  const techniques = computed(() => catalog.value?.techniques ?? []);
  const workloads = computed(() => catalog.value?.workloads ?? []);
  const profiles = computed(() => catalog.value?.profiles ?? []);
  const isaVariants = computed(() => catalog.value?.isaVariants ?? []);

  /** The technique's display name, or its id when the catalog does not know it. */
  function techniqueName(id: string): string {
    return techniques.value.find((t) => t.id === id)?.name ?? id;
  }

  return {
    catalog,
    loading,
    error,
    load,
    techniques,
    workloads,
    profiles,
    isaVariants,
    techniqueName,
  };
});
