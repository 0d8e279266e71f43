/** SvelteKit config: a client-side app (no SSR, no prerendering) built by adapter-static to web/build, served by the gateway at /ui. */
import adapter from '@sveltejs/adapter-static';

/** @type {import('@sveltejs/kit').Config} */
export default {
  kit: {
    // Every route is rendered in the browser: index.html answers any /ui/* path the gateway does not find as a file.
    adapter: adapter({ pages: 'build', assets: 'build', fallback: 'index.html', strict: false }),
    paths: { base: '/ui', relative: false },
    // No inline script config from a CDN, nothing remote: every asset comes out of this build.
    output: { bundleStrategy: 'split' },
  },
};
