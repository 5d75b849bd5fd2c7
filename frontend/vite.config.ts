import { defineConfig } from 'vite';

// No React plugin: esbuild compiles TSX with the automatic JSX runtime, which keeps the build small
// and offline. (Fast Refresh is the only thing lost; a full reload is fine for this page.)
export default defineConfig({
  esbuild: { jsx: 'automatic' },
  build: {
    outDir: 'dist',
    target: 'es2022',
    sourcemap: false,
    rollupOptions: {
      // zod 4 ships comments Rollup cannot place and drops anyway (INVALID_ANNOTATION): one notice per
      // file on every build, none of them about this code.
      onwarn(warning, warn) {
        if (warning.code === 'INVALID_ANNOTATION' && /[\\/]zod[\\/]/.test(warning.id ?? '')) return;
        warn(warning);
      },
    },
  },
  server: { port: Number(process.env.CHAT_PORT ?? 5173), strictPort: true },
  preview: { port: Number(process.env.CHAT_PORT ?? 5173), strictPort: true },
});
