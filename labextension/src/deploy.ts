import { NotebookPanel } from '@jupyterlab/notebook';
import { Widget } from '@lumino/widgets';

import { ApiError, requestJson } from './api';
import { button } from './dom';
import { buildDeployPayload, defaultName } from './format';

/**
 * The Deploy dialog of a notebook: name, cron schedule or continuous, parameters (prefilled
 * from the notebook's parameters cell); POSTs to /velostream/api/deploy and shows the server's
 * error in the dialog, or the created pipeline.
 */
export class DeployDialog extends Widget {
  private readonly error: HTMLDivElement;
  private readonly params: HTMLTableSectionElement;
  private readonly nameInput: HTMLInputElement;
  private readonly scheduleInput: HTMLInputElement;
  private readonly continuousInput: HTMLInputElement;
  private readonly deployButton: HTMLButtonElement;
  private defaults: Record<string, unknown> = {};

  constructor(private readonly path: string) {
    super();
    this.addClass('velo-deploy-backdrop');
    const box = document.createElement('div');
    box.className = 'velo-deploy-dialog';
    box.setAttribute('role', 'dialog');
    const title = document.createElement('h2');
    title.textContent = `Deploy ${path}`;
    this.nameInput = this.input('name', defaultName(path));
    this.scheduleInput = this.input('schedule', '*/5 * * * *');
    this.continuousInput = document.createElement('input');
    this.continuousInput.type = 'checkbox';
    this.continuousInput.name = 'continuous';
    this.continuousInput.addEventListener('change', () => {
      this.scheduleInput.disabled = this.continuousInput.checked;
    });
    const table = document.createElement('table');
    table.className = 'velo-deploy-params';
    this.params = document.createElement('tbody');
    table.append(this.params);
    const addParam = button('Add parameter', 'velo-deploy-add', () => this.addRow('', ''));
    this.error = document.createElement('div');
    this.error.className = 'velo-deploy-error';
    const cancel = button('Cancel', 'velo-deploy-cancel', () => this.dispose());
    this.deployButton = button('Deploy', 'velo-deploy-submit', () => void this.submit());
    const actions = document.createElement('div');
    actions.className = 'velo-deploy-actions';
    actions.append(cancel, this.deployButton);
    box.append(
      title,
      this.row('Name', this.nameInput),
      this.row('Schedule (cron)', this.scheduleInput),
      this.row('Continuous', this.continuousInput),
      this.label('Parameters'),
      table,
      addParam,
      this.error,
      actions
    );
    this.node.append(box);
    this.node.addEventListener('keydown', e => {
      if (e.key === 'Escape') {
        this.dispose();
      }
    });
  }

  /** Show the dialog and prefill the parameters from the server. */
  open(): void {
    Widget.attach(this, document.body);
    this.nameInput.focus();
    void this.prefill();
  }

  private input(name: string, value: string): HTMLInputElement {
    const i = document.createElement('input');
    i.type = 'text';
    i.name = name;
    i.value = value;
    i.className = 'jp-mod-styled';
    return i;
  }

  private label(text: string): HTMLElement {
    const l = document.createElement('div');
    l.className = 'velo-deploy-label';
    l.textContent = text;
    return l;
  }

  private row(label: string, input: HTMLElement): HTMLElement {
    const r = document.createElement('label');
    r.className = 'velo-deploy-row';
    const span = document.createElement('span');
    span.textContent = label;
    r.append(span, input);
    return r;
  }

  private addRow(name: string, value: string): void {
    const tr = document.createElement('tr');
    const n = document.createElement('input');
    n.className = 'velo-param-name jp-mod-styled';
    n.value = name;
    n.placeholder = 'name';
    const v = document.createElement('input');
    v.className = 'velo-param-value jp-mod-styled';
    v.value = value;
    v.placeholder = 'value';
    const tdn = document.createElement('td');
    tdn.append(n);
    const tdv = document.createElement('td');
    tdv.append(v);
    tr.append(tdn, tdv);
    this.params.append(tr);
  }

  private async prefill(): Promise<void> {
    try {
      const { body } = await requestJson<{ parameters: Record<string, unknown> }>(
        `deploy/parameters?path=${encodeURIComponent(this.path)}`
      );
      this.defaults = body.parameters ?? {};
      for (const [k, v] of Object.entries(this.defaults)) {
        this.addRow(k, v === null ? '' : String(v));
      }
    } catch (e) {
      this.error.textContent = `Parameters could not be read: ${e instanceof Error ? e.message : String(e)}`;
    }
  }

  private async submit(): Promise<void> {
    const parameters = Array.from(this.params.querySelectorAll('tr')).map(tr => {
      const name = (tr.querySelector('.velo-param-name') as HTMLInputElement).value;
      const value = (tr.querySelector('.velo-param-value') as HTMLInputElement).value;
      return { name, value, default: this.defaults[name.trim()] };
    });
    const built = buildDeployPayload({
      path: this.path,
      name: this.nameInput.value,
      continuous: this.continuousInput.checked,
      schedule: this.scheduleInput.value,
      parameters
    });
    if ('error' in built) {
      this.error.textContent = built.error;
      return;
    }
    this.deployButton.disabled = true;
    this.error.textContent = '';
    try {
      const { body } = await requestJson<Record<string, unknown>>('deploy', {
        method: 'POST',
        body: JSON.stringify(built.payload)
      });
      const box = this.node.querySelector('.velo-deploy-dialog') as HTMLElement;
      const ok = document.createElement('div');
      ok.className = 'velo-deploy-success';
      ok.textContent = `Deployed pipeline ${String(body.name ?? built.payload.name)}.`;
      const close = button('Close', 'velo-deploy-close', () => this.dispose());
      box.replaceChildren(ok, close);
    } catch (e) {
      this.error.textContent =
        e instanceof ApiError ? e.message : `Deploy failed: ${String(e)}`;
      this.deployButton.disabled = false;
    }
  }
}

/** Open the Deploy dialog for a notebook (saved first, so the server deploys what is shown). */
export async function openDeploy(panel: NotebookPanel): Promise<void> {
  if (panel.context.model.dirty) {
    await panel.context.save();
  }
  new DeployDialog(panel.context.path).open();
}
