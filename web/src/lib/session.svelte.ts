/** The signed-in session as reactive state: who is signed in, and the CSRF token the API client sends. */
import { api, ApiError, setCsrf } from './api.ts';
import type { Session } from './types.ts';

export const auth = $state<{ session: Session | null; checked: boolean; error: string }>({ session: null, checked: false, error: '' });

/** Reads the session from the gateway; false when there is none (the caller sends the person to the login page). */
export async function loadSession(): Promise<boolean> {
  try {
    const s = await api.session();
    auth.session = s;
    auth.error = '';
    setCsrf(s.csrf);
    return true;
  } catch (err) {
    auth.session = null;
    setCsrf(null);
    if (!(err instanceof ApiError) || err.status !== 401) auth.error = (err as Error).message;
    return false;
  } finally {
    auth.checked = true;
  }
}

/** Forgets the session locally (after a logout or a 401). */
export function clearSession(): void {
  auth.session = null;
  setCsrf(null);
}
