import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ToolbarButton } from '@jupyterlab/apputils';
import { IEditorServices } from '@jupyterlab/codeeditor';
import { IEditorLanguageRegistry } from '@jupyterlab/codemirror';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { LabIcon } from '@jupyterlab/ui-components';

import { ChatPanel } from './chat';
import { openDeploy } from './deploy';
import { JobsPanel } from './jobs';
import { highlightNotebooks, registerLanguage } from './language';

const chatIcon = new LabIcon({
  name: 'velostream:chat',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><path class="jp-icon3" fill="#616161" d="M4 4h16v11H8l-4 4z"/><text x="6.5" y="13" font-size="8" font-family="monospace" fill="#fff">SQL</text></svg>'
});
const jobsIcon = new LabIcon({
  name: 'velostream:jobs',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><path class="jp-icon3" fill="#616161" d="M3 5h18v3H3zm0 5.5h12v3H3zM3 16h15v3H3z"/></svg>'
});

const studio: JupyterFrontEndPlugin<void> = {
  id: 'velostream-studio:plugin',
  description: 'Velostream Studio: assistant sidebar, jobs panel and Deploy button',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    restorer: ILayoutRestorer | null
  ) => {
    const chat = new ChatPanel(tracker);
    chat.title.icon = chatIcon;
    app.shell.add(chat, 'right', { rank: 900 });
    const jobs = new JobsPanel(tracker);
    jobs.title.icon = jobsIcon;
    app.shell.add(jobs, 'right', { rank: 901 });
    if (restorer) {
      restorer.add(chat, 'velostream-chat');
      restorer.add(jobs, 'velostream-jobs');
    }
    app.commands.addCommand('velostream:open-chat', {
      label: 'Velostream: Ask for a query',
      execute: () => app.shell.activateById(chat.id)
    });
    app.commands.addCommand('velostream:open-jobs', {
      label: 'Velostream: Jobs',
      execute: () => app.shell.activateById(jobs.id)
    });
    app.docRegistry.addWidgetExtension('Notebook', {
      createNew: (panel: NotebookPanel) => {
        const button = new ToolbarButton({
          className: 'velo-deploy-button',
          label: 'Deploy',
          tooltip: 'Deploy this notebook as a scheduled or continuous pipeline',
          onClick: () => void openDeploy(panel)
        });
        panel.toolbar.insertItem(10, 'velostream-deploy', button);
        return button;
      }
    });
  }
};

const language: JupyterFrontEndPlugin<void> = {
  id: 'velostream-studio:language',
  description: 'Velostream SQL highlighting in Velostream notebooks',
  autoStart: true,
  requires: [IEditorLanguageRegistry, IEditorServices],
  activate: (
    app: JupyterFrontEnd,
    languages: IEditorLanguageRegistry,
    services: IEditorServices
  ) => {
    registerLanguage(languages);
    highlightNotebooks(services);
  }
};

export default [studio, language];
