// What the application menu's commands do (File → New / Open / Save / Export report, Help →
// glossary / about). The main process only says which command was chosen; the renderer knows
// what is on screen, so it decides — and a command that cannot apply right now says why.

import { type MenuCommand } from '../shared/api';
import { exportCurrent, openExperimentWithDialog } from './export/actions';
import { useExperimentStore } from './stores/experiment';
import { useUiStore } from './stores/ui';

export async function runMenuCommand(command: MenuCommand): Promise<void> {
  const ui = useUiStore();
  switch (command) {
    case 'new': {
      const experiment = useExperimentStore();
      ui.show('experiment');
      if (experiment.busy) {
        ui.notify({
          kind: 'info',
          title: 'An experiment is still running',
          message: 'Cancel it (Esc) or wait for it to finish before starting a new one.',
        });
        return;
      }
      experiment.reset();
      return;
    }
    case 'open':
      await openExperimentWithDialog();
      return;
    case 'save':
      await exportCurrent('json');
      return;
    case 'export-report':
      await exportCurrent('html');
      return;
    case 'glossary':
    case 'about':
      ui.openDialog(command);
      return;
  }
}
