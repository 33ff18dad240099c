import adapterNode from '@sveltejs/adapter-node';
import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vite';

export default defineConfig({
  plugins: [
    sveltekit({
      // The API server imports build/handler.js and mounts it itself, so only the handler is used.
      adapter: adapterNode({ out: 'build' }),
      alias: { $lib: 'src/lib' },
    }),
  ],
});
