/**
 * DOM helpers shared by the panels.
 */

/** A JupyterLab-styled button with the panels' common class, `cls` and a click handler. */
export function button(label: string, cls: string, onClick: () => void): HTMLButtonElement {
  const b = document.createElement('button');
  b.className = `jp-Button velo-button ${cls}`;
  b.textContent = label;
  b.addEventListener('click', onClick);
  return b;
}
