// Ambient declarations of the renderer: single-file components as modules (for tools that do
// not compile them, such as tsc over the tests; vue-tsc reads the real files), and the bridge
// the Electron preload exposes (absent in the web preview, which talks HTTP instead).

declare module '*.vue' {
  import type { DefineComponent } from 'vue';
  const component: DefineComponent<object, object, unknown>;
  export default component;
}

interface Window {
  /** set by the Electron preload (src-main/electron); undefined in a browser */
  vmmWorkbench?: import('../shared/api').WorkbenchBridge;
  /** the desktop-only extras (native dialogs, PDF, menu); undefined in a browser */
  vmmWorkbenchDesktop?: import('../src-main/electron/desktop-channels').WorkbenchDesktopBridge;
  /** the Compare view's live Chart.js instances by chart id, for end-to-end tests (see
   *  src-renderer/charts/registry.ts) */
  __vmmCharts?: Record<string, import('chart.js').Chart>;
}
