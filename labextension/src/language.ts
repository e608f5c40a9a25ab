import { IEditorServices } from '@jupyterlab/codeeditor';
import { IEditorLanguageRegistry } from '@jupyterlab/codemirror';
import * as nbformat from '@jupyterlab/nbformat';

import { VELO_KEYWORDS } from './highlight';

export const VELO_MIME = 'text/x-velosql';
const KERNEL_LANGUAGE = 'velosql';

/** Register Velostream SQL with CodeMirror: standard SQL plus WINDOW TUMBLING, EMIT, ... */
export function registerLanguage(languages: IEditorLanguageRegistry): void {
  languages.addLanguage({
    name: 'Velostream SQL',
    displayName: 'Velostream SQL',
    alias: ['velostream'],
    mime: VELO_MIME,
    extensions: ['vsql'],
    load: async () => {
      const m = await import('@codemirror/lang-sql');
      const dialect = m.SQLDialect.define({
        keywords: [m.StandardSQL.spec.keywords ?? '', ...VELO_KEYWORDS].join(' '),
        types: m.StandardSQL.spec.types
      });
      return m.sql({ dialect, upperCaseKeywords: true });
    }
  });
}

/**
 * Velostream notebooks' code cells use the Velostream SQL mode. The kernel's language_info says
 * `codemirror_mode: sql` (so other frontends highlight plain SQL); here the notebook's mimetype
 * lookup answers the Velostream mode for language `velosql`.
 */
export function highlightNotebooks(services: IEditorServices): void {
  const mimes = services.mimeTypeService;
  const original = mimes.getMimeTypeByLanguage.bind(mimes);
  mimes.getMimeTypeByLanguage = (info: nbformat.ILanguageInfoMetadata): string =>
    info.name === KERNEL_LANGUAGE ? VELO_MIME : original(info);
}
