/**
 * Where the web app's built files are (SvelteKit adapter-static output: `index.html` and `_app/`), and why
 * there are none when there are none. `spindle start` builds the app after the gateway listens and hands the
 * folder over here; `SPINDLE_WEB_DIR` names a prebuilt one (containers).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** What `/ui` serves now. */
export type WebAppState =
  | { kind: 'ready'; dir: string }
  | { kind: 'building'; since: number }
  | { kind: 'unavailable'; reason: string };

/** How to get a web app when there is none; the 503 page says it. */
export const HOW_TO_BUILD =
  '`npm start` builds it (from web/, when its sources changed); or build it yourself with `npm run build -w web` and point SPINDLE_WEB_DIR at web/build';

/** The web app's folder, swapped as builds finish. */
export class WebApp {
  #state: WebAppState;

  /** `dir`: a built app (SPINDLE_WEB_DIR); without it, there is none until `use()` is called. */
  constructor(dir?: string) {
    this.#state = dir ? WebApp.#check(dir) : { kind: 'unavailable', reason: 'this gateway was started without a web app' };
  }

  get state(): WebAppState {
    return this.#state;
  }

  /** Serves `dir` from now on (a folder holding `index.html`), or says why not. */
  use(dir: string): WebAppState {
    this.#state = WebApp.#check(dir);
    return this.#state;
  }

  /** A build is under way: `/ui` answers a page that reloads itself. */
  building(): void {
    this.#state = { kind: 'building', since: Date.now() };
  }

  /** No app: `/ui` answers 503 with `reason`. */
  unavailable(reason: string): void {
    this.#state = { kind: 'unavailable', reason };
  }

  static #check(dir: string): WebAppState {
    const abs = resolve(dir);
    if (!existsSync(join(abs, 'index.html'))) return { kind: 'unavailable', reason: `${abs} holds no index.html (is it a built web app?)` };
    return { kind: 'ready', dir: abs };
  }
}
