// Which view is shown, which dialog is open, the colour theme, and the trap-log filter a chart
// click sets. The view
// is mirrored in the location hash (#/compare) so reloads and the browser's back button work
// in the web preview; the theme choice is remembered in localStorage.

import { defineStore } from 'pinia';
import { computed, ref } from 'vue';

export const VIEWS = [
  'experiment',
  'compare',
  'output',
  'traps',
  'translation-cache',
  'history',
] as const;
export type ViewName = (typeof VIEWS)[number];

export const VIEW_LABELS: Record<ViewName, string> = {
  experiment: 'Experiment',
  compare: 'Compare',
  output: 'Output',
  traps: 'Trap log',
  'translation-cache': 'Translation cache',
  history: 'History',
};

export interface Notice {
  kind: 'error' | 'info';
  title: string;
  message?: string;
}

/** The dialogs over the views: Help → glossary, Help → about. */
export type DialogName = 'glossary' | 'about';

export type ThemeChoice = 'system' | 'light' | 'dark';
export type Theme = 'light' | 'dark';

const THEME_KEY = 'vmm-workbench.theme';

function storage(): Storage | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    return null; // storage disabled (privacy settings): the choice lasts for the session
  }
}

function systemPrefersDark(): boolean {
  return typeof matchMedia === 'function' && matchMedia('(prefers-color-scheme: dark)').matches;
}

export function isViewName(value: string): value is ViewName {
  return (VIEWS as readonly string[]).includes(value);
}

export const useUiStore = defineStore('ui', () => {
  const view = ref<ViewName>('experiment');
  const saved = storage()?.getItem(THEME_KEY);
  const themeChoice = ref<ThemeChoice>(
    saved === 'light' || saved === 'dark' || saved === 'system' ? saved : 'system',
  );
  /** what the system asks for; App.vue keeps it current from a media query listener */
  const systemDark = ref(systemPrefersDark());
  const theme = computed<Theme>(() =>
    themeChoice.value === 'system' ? (systemDark.value ? 'dark' : 'light') : themeChoice.value,
  );
  /** a message for the whole window (an import or export that failed, a file saved) */
  const notice = ref<Notice | null>(null);
  /** trap-log filter: a cause (`gp:cli`) and optionally one run (by its label) */
  const trapFilter = ref<{ cause: string; run: string | null }>({ cause: '', run: null });
  /** the dialog open over the views, if any */
  const dialog = ref<DialogName | null>(null);

  function show(next: ViewName): void {
    view.value = next;
  }

  function setTheme(choice: ThemeChoice): void {
    themeChoice.value = choice;
    storage()?.setItem(THEME_KEY, choice);
  }

  /** Light ↔ dark (leaving "follow the system"). */
  function toggleTheme(): void {
    setTheme(theme.value === 'dark' ? 'light' : 'dark');
  }

  function notify(next: Notice): void {
    notice.value = next;
  }

  function dismiss(): void {
    notice.value = null;
  }

  function openDialog(name: DialogName): void {
    dialog.value = name;
  }

  function closeDialog(): void {
    dialog.value = null;
  }

  function showTraps(cause: string, run: string | null = null): void {
    trapFilter.value = { cause, run };
    view.value = 'traps';
  }

  return {
    view,
    themeChoice,
    systemDark,
    theme,
    trapFilter,
    dialog,
    openDialog,
    closeDialog,
    notice,
    notify,
    dismiss,
    show,
    setTheme,
    toggleTheme,
    showTraps,
  };
});
