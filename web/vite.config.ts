/** Vite config: the SvelteKit plugin, and in `npm run dev:web` a dev server that proxies API paths to a running gateway. */
import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vite';

/** The gateway `npm run dev:web` talks to (`SPINDLE_GATEWAY`, default the local `npm start`). */
const gateway = process.env.SPINDLE_GATEWAY ?? 'http://127.0.0.1:8080';
/** Paths the app calls on the gateway; everything else is the app itself. */
const apiPaths = ['/system', '/function', '/async-function', '/graphs', '/runs', '/artifacts', '/healthz'];

export default defineConfig({
  plugins: [sveltekit()],
  server: {
    port: 5173,
    strictPort: false,
    proxy: Object.fromEntries(apiPaths.map((p) => [p, { target: gateway, changeOrigin: false }])),
  },
  build: { chunkSizeWarningLimit: 400 },
  // SvelteKit's build-time server (it writes the fallback page) imports `cookie` 0.6; bundled here, it is found
  // beside SvelteKit instead of the workspace root's cookie 2 (the gateway's), which lacks `parse`.
  ssr: { noExternal: ['cookie'] },
});
