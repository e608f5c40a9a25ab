import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { Widget } from '@lumino/widgets';

import { ApiError, streamEvents } from './api';
import { button } from './dom';
import { withChartHints } from './format';
import { escapeHtml, highlightSql } from './highlight';
import { insertAndRun, insertBelow, recentCells, replaceActive } from './notebook';

interface Answer {
  sql: string;
  explanation: string;
  valid: boolean;
  errors: string[];
  repaired: boolean;
  chart?: Record<string, unknown>;
}

interface Turn {
  question: string;
  text: string;
  notes: string[];
  answer?: Answer;
  error?: string;
  state: 'streaming' | 'done' | 'stopped' | 'error';
}

const NO_NOTEBOOK = 'notebook-less';

/** What to do about an error, by its kind (the server's message says what went wrong). */
function errorHelp(kind: string): string {
  switch (kind) {
    case 'no_key':
      return 'Set ANTHROPIC_API_KEY where JupyterLab starts, then restart JupyterLab.';
    case 'auth':
      return 'Check the key in ANTHROPIC_API_KEY.';
    case 'network':
      return 'Check the network, or the assistant base URL (ANTHROPIC_BASE_URL).';
    case 'model':
      return 'Try again; if it keeps failing, check the model name (VELO_ASSISTANT_MODEL).';
    default:
      return '';
  }
}

/**
 * The NL->SQL chat: one conversation per notebook, answers streamed from the server's
 * assistant, SQL highlighted with Insert below / Replace cell / Run.
 */
export class ChatPanel extends Widget {
  private readonly conversations = new Map<string, Turn[]>();
  private readonly messages: HTMLDivElement;
  private readonly input: HTMLTextAreaElement;
  private readonly askButton: HTMLButtonElement;
  private readonly stopButton: HTMLButtonElement;
  private readonly header: HTMLDivElement;
  private controller: AbortController | null = null;

  constructor(private readonly tracker: INotebookTracker) {
    super();
    this.id = 'velostream-chat';
    this.addClass('velo-chat');
    this.title.caption = 'Velostream assistant: ask for a query';
    this.header = document.createElement('div');
    this.header.className = 'velo-chat-header';
    this.messages = document.createElement('div');
    this.messages.className = 'velo-chat-messages';
    const form = document.createElement('div');
    form.className = 'velo-chat-form';
    this.input = document.createElement('textarea');
    this.input.className = 'velo-chat-input';
    this.input.placeholder = 'Ask for a query, e.g. average trade size per symbol every minute';
    this.input.rows = 3;
    this.input.addEventListener('keydown', e => {
      if (e.key === 'Enter' && !e.shiftKey) {
        e.preventDefault();
        void this.ask();
      }
    });
    this.askButton = button('Ask', 'velo-chat-ask', () => void this.ask());
    this.stopButton = button('Stop', 'velo-chat-stop', () => this.stop());
    this.stopButton.disabled = true;
    const buttons = document.createElement('div');
    buttons.className = 'velo-chat-buttons';
    buttons.append(this.askButton, this.stopButton);
    form.append(this.input, buttons);
    this.node.append(this.header, this.messages, form);
    tracker.currentChanged.connect(() => this.render());
    this.render();
  }

  private key(panel: NotebookPanel | null): string {
    return panel ? panel.context.path : NO_NOTEBOOK;
  }

  private turns(panel: NotebookPanel | null): Turn[] {
    const k = this.key(panel);
    let list = this.conversations.get(k);
    if (!list) {
      list = [];
      this.conversations.set(k, list);
    }
    return list;
  }

  /** Send the question with the notebook's kernel and recent cells; stream the answer. */
  async ask(): Promise<void> {
    const question = this.input.value.trim();
    if (!question || this.controller) {
      return;
    }
    const panel = this.tracker.currentWidget;
    const turn: Turn = { question, text: '', notes: [], state: 'streaming' };
    this.turns(panel).push(turn);
    this.input.value = '';
    const controller = new AbortController();
    this.controller = controller;
    this.setBusy(true);
    this.render();
    const payload = {
      question,
      kernel_id: panel?.sessionContext.session?.kernel?.id ?? null,
      cells: panel ? recentCells(panel) : []
    };
    try {
      await streamEvents(
        'nl-to-sql',
        payload,
        e => this.onEvent(turn, e),
        controller.signal
      );
      if (turn.state === 'streaming') {
        turn.state = turn.answer ? 'done' : 'error';
        if (!turn.answer && !turn.error) {
          turn.error = 'The answer ended early. Try again.';
        }
      }
    } catch (e) {
      if (controller.signal.aborted) {
        turn.state = 'stopped';
      } else {
        turn.state = 'error';
        turn.error =
          e instanceof ApiError
            ? e.message
            : `Could not reach the Jupyter server (${String(e)}). Is it still running?`;
      }
    } finally {
      this.controller = null;
      this.setBusy(false);
      this.render();
    }
  }

  /** Cancel the running request (the server cancels the model call). */
  stop(): void {
    this.controller?.abort();
  }

  private setBusy(busy: boolean): void {
    this.askButton.disabled = busy;
    this.stopButton.disabled = !busy;
    this.node.classList.toggle('velo-busy', busy);
  }

  private onEvent(turn: Turn, e: Record<string, unknown>): void {
    switch (e.type) {
      case 'text':
        turn.text += String(e.text ?? '');
        break;
      case 'status':
        turn.notes.push(String(e.message ?? ''));
        break;
      case 'repair':
        turn.notes.push(
          `The engine rejected the first SQL (${(e.errors as string[]).join('; ')}); asked for a fix.`
        );
        break;
      case 'answer':
        turn.answer = e as unknown as Answer;
        turn.state = 'done';
        break;
      case 'error': {
        const help = errorHelp(String(e.kind ?? ''));
        turn.error = `${String(e.message ?? 'error')}${help ? ' ' + help : ''}`;
        turn.state = 'error';
        break;
      }
    }
    this.render();
  }

  private render(): void {
    const panel = this.tracker.currentWidget;
    this.header.textContent = panel
      ? `Assistant for ${panel.context.path}`
      : 'Assistant (open a notebook to insert SQL into it)';
    this.messages.replaceChildren(...this.turns(panel).map(t => this.renderTurn(t, panel)));
    this.messages.scrollTop = this.messages.scrollHeight;
  }

  private renderTurn(turn: Turn, panel: NotebookPanel | null): HTMLElement {
    const el = document.createElement('div');
    el.className = `velo-chat-turn velo-chat-${turn.state}`;
    const q = document.createElement('div');
    q.className = 'velo-chat-question';
    q.textContent = turn.question;
    el.append(q);
    if (turn.text && !(turn.answer && turn.answer.explanation === turn.text.trim())) {
      const t = document.createElement('div');
      t.className = 'velo-chat-text';
      t.textContent = turn.text;
      el.append(t);
    }
    for (const note of turn.notes) {
      const n = document.createElement('div');
      n.className = 'velo-chat-note';
      n.textContent = note;
      el.append(n);
    }
    if (turn.answer) {
      el.append(this.renderAnswer(turn.answer, panel));
    }
    if (turn.state === 'stopped') {
      const s = document.createElement('div');
      s.className = 'velo-chat-note velo-chat-stopped-note';
      s.textContent = 'Stopped.';
      el.append(s);
    }
    if (turn.error) {
      const err = document.createElement('div');
      err.className = 'velo-chat-error';
      err.textContent = turn.error;
      el.append(err);
    }
    return el;
  }

  private renderAnswer(answer: Answer, panel: NotebookPanel | null): HTMLElement {
    const box = document.createElement('div');
    box.className = 'velo-chat-answer';
    if (answer.explanation) {
      const ex = document.createElement('div');
      ex.className = 'velo-chat-explanation';
      ex.textContent = answer.explanation;
      box.append(ex);
    }
    // what is shown is what gets inserted: the SQL with the suggested chart as @viz lines
    const sql = withChartHints(answer.sql, answer.chart);
    const pre = document.createElement('pre');
    pre.className = 'velo-sql';
    pre.innerHTML = highlightSql(sql);
    box.append(pre);
    if (!answer.valid) {
      const inv = document.createElement('div');
      inv.className = 'velo-chat-error velo-chat-invalid';
      inv.innerHTML =
        '<b>The engine rejects this SQL:</b><pre>' +
        escapeHtml(answer.errors.join('\n')) +
        '</pre>';
      box.append(inv);
    }
    const actions = document.createElement('div');
    actions.className = 'velo-chat-actions';
    const need = (fn: (p: NotebookPanel) => void | Promise<void>) => () => {
      const p = this.tracker.currentWidget ?? panel;
      if (p) {
        void fn(p);
      }
    };
    const insert = button(
      'Insert below',
      'velo-chat-insert',
      need(p => insertBelow(p, sql))
    );
    const replace = button(
      'Replace cell',
      'velo-chat-replace',
      need(p => replaceActive(p, sql))
    );
    const run = button('Run', 'velo-chat-run', need(p => insertAndRun(p, sql)));
    run.disabled = !answer.valid;
    run.title = answer.valid ? 'Insert below and run' : 'The engine rejects this SQL';
    for (const b of [insert, replace]) {
      b.disabled = !panel && !this.tracker.currentWidget;
    }
    actions.append(insert, replace, run);
    box.append(actions);
    return box;
  }
}
