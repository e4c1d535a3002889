// The renderer's entry: pick the bridge to the main process (the preload's, or HTTP in the
// web preview), make the typed API the stores use, listen to its events, and mount the app.

import { createPinia } from 'pinia';
import { createApp } from 'vue';
import { chooseBridge, createApi } from './api';
import App from './App.vue';
import { registerChartJs } from './charts/setup';
import { setWorkbenchApi } from './stores/api-context';
import { useExperimentStore } from './stores/experiment';
import './styles.css';

registerChartJs();
setWorkbenchApi(createApi(chooseBridge(window)));

const app = createApp(App);
app.use(createPinia());
void useExperimentStore().connect();
app.mount('#app');
