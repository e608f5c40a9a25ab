import { INotebookTracker } from '@jupyterlab/notebook';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { ApiError, requestJson } from './api';
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
  private readonly table: HTMLTableElement;
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
    this.table = document.createElement('table');
    this.table.className = 'velo-jobs-table';
    this.pipelines = document.createElement('div');
    this.pipelines.className = 'velo-pipelines';
    this.node.append(h, this.status, this.table, this.pipelines);
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

  private renderJobs(jobs: JobInfo[]): void {
    const head = document.createElement('tr');
    for (const h of ['Name', 'State', 'Records/s', 'Lag', 'In', 'Out', '']) {
      const th = document.createElement('th');
      th.textContent = h;
      head.append(th);
    }
    const rows = jobs.map(j => {
      const tr = document.createElement('tr');
      tr.className = `velo-job velo-job-${j.state}`;
      tr.dataset.name = j.name;
      const cells = [
        `${j.name}${j.kind === 'query' ? ' (query)' : ''}`,
        j.state,
        formatRate(j.records_per_s),
        formatLag(j.lag_s),
        j.records_in.toLocaleString('en-US'),
        j.rows_out.toLocaleString('en-US')
      ];
      for (const [i, c] of cells.entries()) {
        const td = document.createElement('td');
        td.textContent = c;
        td.className = ['velo-job-name', 'velo-job-state', 'velo-job-rate', 'velo-job-lag',
          'velo-job-in', 'velo-job-out'][i]; // prettier-ignore
        tr.append(td);
      }
      const td = document.createElement('td');
      if (j.state === 'running') {
        const b = document.createElement('button');
        b.className = 'jp-Button velo-button velo-job-stop';
        b.textContent = 'Stop';
        b.disabled = this.stopping.has(j.name);
        b.addEventListener('click', () => void this.stopJob(j));
        td.append(b);
      }
      tr.append(td);
      return tr;
    });
    if (rows.length === 0) {
      const tr = document.createElement('tr');
      const td = document.createElement('td');
      td.colSpan = 7;
      td.className = 'velo-jobs-empty';
      td.textContent = 'No jobs or queries yet.';
      tr.append(td);
      rows.push(tr);
    }
    this.table.replaceChildren(head, ...rows);
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
