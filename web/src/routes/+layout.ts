/** The whole app renders in the browser: no SSR and no prerendering (adapter-static's fallback page serves every route). */
export const ssr = false;
export const prerender = false;
export const trailingSlash = 'ignore';
