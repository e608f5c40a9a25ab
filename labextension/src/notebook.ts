import { NotebookActions, NotebookPanel } from '@jupyterlab/notebook';

/** The sources of the code cells up to the active one (newest last), for the prompt. */
export function recentCells(panel: NotebookPanel, max = 8): string[] {
  const nb = panel.content;
  const upto = Math.max(nb.activeCellIndex, 0);
  const out: string[] = [];
  nb.widgets.forEach((cell, i) => {
    if (i <= upto && cell.model.type === 'code') {
      out.push(cell.model.sharedModel.getSource());
    }
  });
  return out.slice(-max);
}

/** The cell text for `sql`: as is in a Velostream SQL notebook, a `%%velo` cell elsewhere. */
export function cellText(panel: NotebookPanel, sql: string): string {
  const kernel = panel.sessionContext.session?.kernel?.name ?? '';
  return kernel === '' || kernel === 'velostream' ? sql : `%%velo\n${sql}`;
}

/** Insert a code cell with `sql` below the active cell; it becomes the active cell. */
export function insertBelow(panel: NotebookPanel, sql: string): void {
  const nb = panel.content;
  NotebookActions.insertBelow(nb);
  const cell = nb.activeCell;
  if (cell) {
    if (cell.model.type !== 'code') {
      NotebookActions.changeCellType(nb, 'code');
    }
    nb.activeCell?.model.sharedModel.setSource(cellText(panel, sql));
  }
}

/** Replace the active cell's text by `sql`. */
export function replaceActive(panel: NotebookPanel, sql: string): void {
  const cell = panel.content.activeCell;
  if (cell) {
    cell.model.sharedModel.setSource(cellText(panel, sql));
  } else {
    insertBelow(panel, sql);
  }
}

/** Insert `sql` below and run it. */
export async function insertAndRun(panel: NotebookPanel, sql: string): Promise<void> {
  insertBelow(panel, sql);
  await NotebookActions.run(panel.content, panel.sessionContext);
}
