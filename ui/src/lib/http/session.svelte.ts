// The page's sign-in when `docktray serve` serves it (src/sinks/api/session.rs). The API token is sent once, in
// the body of POST api/v1/session; the server answers with an HttpOnly session cookie the page cannot read and a
// CSRF token that stays in this module's memory only (never localStorage, sessionStorage or a URL). A reload
// asks GET api/v1/session for the CSRF token again; a 401 anywhere sends the page back to the sign-in form.

export type SessionState = "checking" | "signed-out" | "signed-in";

/** What the server tells a signed-in page. */
type SessionInfo = { csrf: string | null; allow_actions: boolean; version: string };

/** The API's error body. */
type ErrorBody = { error?: string; message?: string };

/** Where the API is: the directory the page was loaded from (works under a reverse proxy's path prefix). */
export function apiUrl(path: string): string {
  return new URL(path, new URL(".", window.location.href)).toString();
}

/** The message of a failed answer: the API's JSON `message`, else the status. */
export async function failure(response: Response): Promise<string> {
  try {
    const body = (await response.json()) as ErrorBody;
    if (body && typeof body.message === "string") return body.message;
  } catch {
    // not JSON: fall through
  }
  return `the server answered ${response.status} ${response.statusText}`.trim();
}

class WebSession {
  state = $state<SessionState>("checking");
  /** Why the last sign-in failed, or why the session ended. */
  message = $state<string | null>(null);
  allowActions = $state(false);
  private csrf: string | null = null;

  /** Asks whether the cookie (if any) is still signed in. */
  async check(): Promise<void> {
    try {
      const response = await fetch(apiUrl("api/v1/session"), { credentials: "same-origin" });
      if (response.ok) this.accept((await response.json()) as SessionInfo);
      else this.state = "signed-out";
    } catch (e) {
      this.message = `Docktray cannot be reached: ${e instanceof Error ? e.message : String(e)}`;
      this.state = "signed-out";
    }
  }

  /** Signs in with the API token; resolves false (with `message` set) when it is refused. */
  async signIn(token: string): Promise<boolean> {
    this.message = null;
    try {
      const response = await fetch(apiUrl("api/v1/session"), {
        method: "POST",
        credentials: "same-origin",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ token: token.trim() }),
      });
      if (!response.ok) {
        this.message = await failure(response);
        return false;
      }
      this.accept((await response.json()) as SessionInfo);
      return true;
    } catch (e) {
      this.message = `Docktray cannot be reached: ${e instanceof Error ? e.message : String(e)}`;
      return false;
    }
  }

  async signOut(): Promise<void> {
    try {
      await fetch(apiUrl("api/v1/session"), { method: "DELETE", credentials: "same-origin", headers: this.headers() });
    } finally {
      this.ended(null);
    }
  }

  /** The session is over (signed out, or the server said 401). */
  ended(message: string | null): void {
    this.csrf = null;
    this.message = message;
    this.state = "signed-out";
  }

  /** The subprotocols of a WebSocket that changes something (a terminal): browsers cannot set headers on a
   * WebSocket, so the CSRF token rides as `csrf.<token>` (src/sinks/api/session.rs). */
  websocketProtocols(): string[] {
    return this.csrf ? ["docktray", `csrf.${this.csrf}`] : ["docktray"];
  }

  /** Headers for a request that changes something. */
  headers(): Record<string, string> {
    return this.csrf ? { "x-docktray-csrf": this.csrf } : {};
  }

  private accept(info: SessionInfo): void {
    this.csrf = info.csrf;
    this.allowActions = info.allow_actions;
    this.state = "signed-in";
  }
}

export const webSession = new WebSession();
