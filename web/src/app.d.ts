/** Ambient types for SvelteKit (the app has no server side, so App.* stay empty). */
declare global {
  namespace App {}
}
export {};
