import { INotebookTracker } from '@jupyterlab/notebook';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { ApiError, requestJson } from './api';
import { button } from './dom';
import { formatLag, formatRate } from './format';

export interface JobInfo {
  name: string;
  kind: 'job' | 'query';
  state: string;
  records_in: number;
  rows_out: number;
  records_per_s: number | null;
  lag_s: number | null;
  late: number;
  kernel_id: string;
}

export const REFRESH_MS = 1000;

/**
 * The running queries and background jobs of the current notebook's kernel (every Velostream
 * kernel's when no notebook is open), with records/s, watermark lag and Stop, refreshed every
 * second while the panel is shown; and the deployed pipelines when the server has them.
 */
export class JobsPanel extends Widget {
  private timer: number | null = null;
  private inFlight = false;
  private readonly status: HTMLDivElement;
  private readonly list: HTMLDivElement;
  private readonly empty: HTMLDivElement;
  private readonly cards = new Map<string, HTMLElement>();
  private readonly pipelines: HTMLDivElement;
  private stopping = new Set<string>();

  constructor(private readonly tracker: INotebookTracker) {
    super();
    this.id = 'velostream-jobs';
    this.addClass('velo-jobs');
    this.title.caption = 'Velostream jobs: running queries and background jobs';
    const h = document.createElement('h3');
    h.textContent = 'Jobs';
    this.status = document.createElement('div');
    this.status.className = 'velo-jobs-status';
    this.list = document.createElement('div');
    this.list.className = 'velo-jobs-list';
    this.empty = document.createElement('div');
    this.empty.className = 'velo-jobs-empty';
    this.empty.textContent = 'No jobs or queries yet.';
    this.pipelines = document.createElement('div');
    this.pipelines.className = 'velo-pipelines';
    this.node.append(h, this.status, this.list, this.pipelines);
    tracker.currentChanged.connect(() => void this.refresh());
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    void this.refresh();
    if (this.timer === null) {
      this.timer = window.setInterval(() => void this.refresh(), REFRESH_MS);
    }
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    if (this.timer !== null) {
      window.clearInterval(this.timer);
      this.timer = null;
    }
  }

  dispose(): void {
    if (this.timer !== null) {
      window.clearInterval(this.timer);
    }
    super.dispose();
  }

  /** Fetch and show the jobs (skipped while a fetch is still running). */
  async refresh(): Promise<void> {
    if (this.inFlight || !this.isVisible) {
      return;
    }
    this.inFlight = true;
    try {
      const kernel = this.tracker.currentWidget?.sessionContext.session?.kernel;
      const query = kernel ? `?kernel_id=${encodeURIComponent(kernel.id)}` : '';
      const { body } = await requestJson<{ jobs: JobInfo[] }>(`jobs${query}`);
      this.renderJobs(body.jobs);
      this.status.textContent = kernel
        ? `Kernel of ${this.tracker.currentWidget?.context.path}`
        : 'All Velostream kernels';
      this.status.classList.remove('velo-jobs-error');
    } catch (e) {
      this.status.textContent =
        e instanceof ApiError && e.status === 400
          ? 'This notebook does not run the Velostream SQL kernel.'
          : `Jobs unavailable: ${e instanceof Error ? e.message : String(e)}`;
      this.status.classList.add('velo-jobs-error');
      this.renderJobs([]);
    } finally {
      this.inFlight = false;
    }
    await this.refreshPipelines();
  }

  /** One card per job, updated in place (a Stop button keeps its place between refreshes). */
  private renderJobs(jobs: JobInfo[]): void {
    const keep = new Set<string>();
    const cards: HTMLElement[] = [];
    for (const j of jobs) {
      const key = `${j.kernel_id}/${j.name}`;
      keep.add(key);
      let card = this.cards.get(key);
      if (!card) {
        card = this.makeCard(j);
        this.cards.set(key, card);
      }
      this.fillCard(card, j);
      cards.push(card);
    }
    for (const key of [...this.cards.keys()]) {
      if (!keep.has(key)) {
        this.cards.delete(key);
      }
    }
    if (cards.length === 0) {
      this.list.replaceChildren(this.empty);
      return;
    }
    const current = Array.from(this.list.children);
    if (current.length !== cards.length || current.some((c, i) => c !== cards[i])) {
      this.list.replaceChildren(...cards);
    }
  }

  private makeCard(j: JobInfo): HTMLElement {
    const card = document.createElement('div');
    card.dataset.name = j.name;
    const top = document.createElement('div');
    top.className = 'velo-job-top';
    const name = document.createElement('span');
    name.className = 'velo-job-name';
    name.textContent = `${j.name}${j.kind === 'query' ? ' (query)' : ''}`;
    const state = document.createElement('span');
    state.className = 'velo-job-state';
    const stop = button('Stop', 'velo-job-stop', () => void this.stopJob(j));
    top.append(name, state, stop);
    const numbers = document.createElement('div');
    numbers.className = 'velo-job-numbers';
    for (const [cls, label] of [
      ['velo-job-rate', 'records/s'],
      ['velo-job-lag', 'lag'],
      ['velo-job-in', 'in'],
      ['velo-job-out', 'out']
    ]) {
      const box = document.createElement('span');
      box.className = 'velo-job-number';
      const v = document.createElement('span');
      v.className = cls;
      const l = document.createElement('span');
      l.className = 'velo-job-label';
      l.textContent = ` ${label}`;
      box.append(v, l);
      numbers.append(box);
    }
    card.append(top, numbers);
    return card;
  }

  private fillCard(card: HTMLElement, j: JobInfo): void {
    card.className = `velo-job velo-job-${j.state}`;
    const set = (cls: string, text: string) => {
      const el = card.querySelector(`.${cls}`);
      if (el && el.textContent !== text) {
        el.textContent = text;
      }
    };
    set('velo-job-state', j.state);
    set('velo-job-rate', formatRate(j.records_per_s));
    set('velo-job-lag', formatLag(j.lag_s));
    set('velo-job-in', j.records_in.toLocaleString('en-US'));
    set('velo-job-out', j.rows_out.toLocaleString('en-US'));
    const stop = card.querySelector('.velo-job-stop') as HTMLButtonElement;
    stop.style.display = j.state === 'running' ? '' : 'none';
    stop.disabled = this.stopping.has(j.name);
  }

  private async stopJob(job: JobInfo): Promise<void> {
    this.stopping.add(job.name);
    try {
      await requestJson('jobs/stop', {
        method: 'POST',
        body: JSON.stringify({ kernel_id: job.kernel_id, name: job.name })
      });
    } catch (e) {
      this.status.textContent = `Could not stop ${job.name}: ${e instanceof Error ? e.message : String(e)}`;
      this.status.classList.add('velo-jobs-error');
    } finally {
      this.stopping.delete(job.name);
    }
    await this.refresh();
  }

  private async refreshPipelines(): Promise<void> {
    let list: Array<Record<string, unknown>> = [];
    try {
      const { body } = await requestJson<unknown>('pipelines');
      const raw = Array.isArray(body)
        ? body
        : ((body as Record<string, unknown> | null)?.pipelines ?? []);
      list = Array.isArray(raw) ? (raw as Array<Record<string, unknown>>) : [];
    } catch {
      this.pipelines.replaceChildren();
      return; // no pipelines API on this server
    }
    const h = document.createElement('h3');
    h.textContent = 'Pipelines';
    const items = list.map(p => {
      const div = document.createElement('div');
      div.className = 'velo-pipeline';
      const last = (p.last_run ?? null) as Record<string, unknown> | string | null;
      const lastText =
        last && typeof last === 'object'
          ? `${String(last.status ?? last.state ?? '')} ${String(last.finished_at ?? last.started_at ?? last.at ?? '')}`.trim()
          : last
            ? String(last)
            : 'never run';
      const when = p.continuous ? 'continuous' : String(p.schedule ?? '');
      div.textContent = `${String(p.name ?? '?')} · ${when} · last run: ${lastText}`;
      return div;
    });
    if (items.length === 0) {
      const none = document.createElement('div');
      none.className = 'velo-pipeline';
      none.textContent = 'No deployed pipelines.';
      items.push(none);
    }
    this.pipelines.replaceChildren(h, ...items);
  }
}
