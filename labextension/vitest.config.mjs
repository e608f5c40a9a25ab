import { defineConfig } from 'vitest/config';

// Unit tests of the extension's pure parts (no JupyterLab, no DOM).
export default defineConfig({
  test: { include: ['test/**/*.test.ts'], environment: 'node' }
});
