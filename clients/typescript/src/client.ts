/** GovernorClient: every call, its retries, and how answers become values or thrown errors. */
import type { AgeSignal } from "./age.js";
import { GovernorError, GovernorUnavailable } from "./errors.js";
import { GovernorSession, type SessionOptions } from "./session.js";
import type {
  Child, Controls, ControlsChange, Decision, Ended, GuardianGrant, Heartbeat, Refusal, Started, Status, TimeRequest,
  TimeRequestStatus, WeekSummary,
} from "./types.js";

export interface ClientOptions {
  baseUrl: string;
  /** A bearer token, or a function giving one (called per request). Its scope decides which calls
   * it may make: `sessions` for the session loop and a child's time requests, `guardian` for the
   * parent app's calls. */
  token: string | (() => string | Promise<string>);
  timeoutMs?: number;
  retryWithinMs?: number;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

const UNAVAILABLE = new Set([502, 503, 504]);
const RETRYABLE = new Set([...UNAVAILABLE, 429]); // 429: a rate limit; its Retry-After says when
const NOT_CARRIED_OUT = new Set([429, 503]); // answers after which any request, a start too, may be repeated
const CONNECT_FAILURES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH",
  "UND_ERR_CONNECT_TIMEOUT"]);
const seg = encodeURIComponent;

export class GovernorClient {
  private readonly baseUrl: string;
  private readonly token: () => string | Promise<string>;
  private readonly timeoutMs: number;
  private readonly retryWithinMs: number;
  private readonly fetch: typeof fetch;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;

  constructor(options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    const token = options.token;
    this.token = typeof token === "function" ? token : () => token;
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.retryWithinMs = options.retryWithinMs ?? 15000;
    this.fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.now = options.now ?? (() => Date.now());
  }

  // -- the session loop (scope sessions) -------------------------------------------------------

  /** The decision for starting a session now, with no side effect. */
  status(userId: string, purpose?: string): Promise<Status> {
    const query = purpose ? `?purpose=${seg(purpose)}` : "";
    return this.decision("GET", `/v1/users/${seg(userId)}/status${query}`) as Promise<Status>;
  }

  /** Ask to start a session: allowed with `session_id`, or refused (`allowed: false`). */
  start(userId: string, purpose?: string): Promise<Started | Refusal> {
    const body = purpose ? { user_id: userId, purpose } : { user_id: userId };
    // A start that may have reached the server is not repeated (it could admit a second session).
    return this.decision("POST", "/v1/sessions", body, false) as Promise<Started | Refusal>;
  }

  /** Keep the session alive; `allowed: false` means the server has ended it. */
  heartbeat(sessionId: string): Promise<Heartbeat> {
    return this.decision("POST", `/v1/sessions/${seg(sessionId)}/heartbeat`) as Promise<Heartbeat>;
  }

  /** End the session (idempotent): the user's decision with `duration_seconds` and `end_reason`. */
  end(sessionId: string): Promise<Ended> {
    return this.decision("POST", `/v1/sessions/${seg(sessionId)}/end`) as Promise<Ended>;
  }

  /** Start a session and keep it alive until `close()` or until the server ends it. */
  async session(options: SessionOptions): Promise<GovernorSession> {
    const session = new GovernorSession(this, options);
    await session.open();
    return session;
  }

  // -- a child's time requests (scope sessions) ------------------------------------------------

  /** The child asks their guardians for `minutes` (1-240) more today: a pending request. No guardian:
   * GovernorError 409 `no-guardian`; one already pending: 409 `request-pending`. */
  askForTime(userId: string, minutes: number, note?: string): Promise<TimeRequest> {
    const body = note === undefined ? { minutes } : { minutes, note };
    // Not repeated once it may have been carried out: the repeat would answer request-pending.
    return this.call("POST", `/v1/users/${seg(userId)}/time-requests`, body, 201, false);
  }

  /** A request as it stands now (`pending`, `approved`, `denied` or `expired`), to show the child. */
  timeRequest(requestId: string): Promise<TimeRequest> {
    return this.call("GET", `/v1/time-requests/${seg(requestId)}`);
  }

  // -- age signals (DESIGN section 8; a token of scope age) -----------------------------------

  /** Store `source`'s age signal (a body from ageSignalFromApple, ...FromGooglePlay or ...FromOsBracket):
   * the stored signal and the user's age (band, span, basis, parental consent). A bad field is a
   * GovernorError 422 that names it. */
  setAgeSignal(userId: string, source: string, signal: AgeSignal): Promise<Record<string, any>> {
    return this.call("PUT", `/v1/users/${seg(userId)}/age-signals/${seg(source)}`, signal);
  }

  /** Withdraw `source`'s signal; the user's age after it (none there: a GovernorError 404). */
  withdrawAgeSignal(userId: string, source: string): Promise<Record<string, any>> {
    return this.call("DELETE", `/v1/users/${seg(userId)}/age-signals/${seg(source)}`);
  }

  /** A linked guardian gives or withdraws consent (scope guardian); the child's age after it. */
  setParentalConsent(guardianId: string, userId: string, granted: boolean): Promise<Record<string, any>> {
    return this.call("PUT", `/v1/guardians/${seg(guardianId)}/children/${seg(userId)}/consent`, { granted });
  }

  // -- the parent app (scope guardian) ---------------------------------------------------------

  /** The guardian's linked children, each with what a start would answer now and these controls. */
  async children(guardianId: string): Promise<Child[]> {
    return (await this.call<{ children: Child[] }>("GET", `/v1/guardians/${seg(guardianId)}/children`)).children;
  }

  /** One ISO week of the child (`"2026-W49"`; default the child's current week). */
  weekSummary(guardianId: string, userId: string, week?: string): Promise<WeekSummary> {
    const query = week ? `?week=${seg(week)}` : "";
    return this.call("GET", `/v1/guardians/${seg(guardianId)}/children/${seg(userId)}/summary${query}`);
  }

  /** This guardian's controls of the child. */
  controls(guardianId: string, userId: string): Promise<Controls> {
    return this.call("GET", controlsPath(guardianId, userId));
  }

  /** Replace this guardian's controls: all three are named (null unsets one). A limit looser than the
   * band's is a GovernorError 422 whose problem names the band's. */
  setControls(guardianId: string, userId: string, controls: Controls): Promise<Controls> {
    const { daily_limit_minutes, quiet_hours, rest_reminder_minutes } = controls;
    return this.call("PUT", controlsPath(guardianId, userId), { daily_limit_minutes, quiet_hours,
      rest_reminder_minutes });
  }

  /** Change only the controls named (null unsets one); the others stay as they are. */
  updateControls(guardianId: string, userId: string, changes: ControlsChange): Promise<Controls> {
    const body = Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined));
    return this.call("PATCH", controlsPath(guardianId, userId), body);
  }

  /** Extra minutes for the child's current local day. Past the band's cap (every guardian's grants
   * of the day together) a GovernorError 422 that names the cap. */
  guardianGrant(guardianId: string, userId: string, extraMinutes: number, reason?: string): Promise<GuardianGrant> {
    const body = reason === undefined ? { extra_minutes: extraMinutes } : { extra_minutes: extraMinutes, reason };
    // Not repeated once it may have been carried out: a repeat would grant the minutes twice.
    return this.call("POST", `/v1/guardians/${seg(guardianId)}/children/${seg(userId)}/grants`, body, 201, false);
  }

  /** The requests of the guardian's children, newest first; only those of `status` if given. */
  async timeRequests(guardianId: string, status?: TimeRequestStatus): Promise<TimeRequest[]> {
    const query = status ? `?status=${seg(status)}` : "";
    const path = `/v1/guardians/${seg(guardianId)}/time-requests${query}`;
    return (await this.call<{ time_requests: TimeRequest[] }>("GET", path)).time_requests;
  }

  /** Approve (granting `minutes`, default those asked, for the day it was asked on) or deny a pending
   * request. A decided or expired one is a GovernorError 409. */
  decideTimeRequest(guardianId: string, requestId: string, status: "approved" | "denied",
    minutes?: number): Promise<TimeRequest> {
    const body = minutes === undefined ? { status } : { status, minutes };
    return this.call("PATCH", `/v1/guardians/${seg(guardianId)}/time-requests/${seg(requestId)}`, body, 200, false);
  }

  // -- answers ---------------------------------------------------------------------------------

  private async decision(method: string, path: string, body?: unknown, repeatable = true): Promise<Decision> {
    const r = await this.request(method, path, body, repeatable);
    const answer = await jsonObject(r, method, path);
    if (r.status === 200 || r.status === 201 || (r.status === 403 && "allowed" in answer)) {
      return answer as unknown as Decision;
    }
    throw problem(r.status, answer);
  }

  /** A call whose answer is `ok` with a JSON object; anything else is a GovernorError. */
  private async call<T>(method: string, path: string, body?: unknown, ok = 200, repeatable = true): Promise<T> {
    const r = await this.request(method, path, body, repeatable);
    const answer = await jsonObject(r, method, path);
    if (r.status === ok) return answer as T;
    throw problem(r.status, answer);
  }

  /** Send, retrying failures with backoff (or Retry-After) while within `retryWithinMs`. A request
   * that is not repeatable is retried only when it cannot have been carried out: no connection,
   * Governor's own 503, or a 429. */
  private async request(method: string, path: string, body: unknown, repeatable: boolean): Promise<Response> {
    const deadline = this.now() + this.retryWithinMs;
    let backoff = 250;
    for (;;) {
      let why: string;
      let wait = backoff;
      let status = 0;
      try {
        const r = await this.fetch(this.baseUrl + path, {
          method,
          headers: {
            Authorization: `Bearer ${await this.token()}`,
            ...(body === undefined ? {} : { "Content-Type": "application/json" }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(this.timeoutMs),
        });
        if (!(repeatable ? RETRYABLE : NOT_CARRIED_OUT).has(r.status)) return r;
        wait = retryAfter(r.headers.get("Retry-After"), this.now) ?? backoff;
        if (r.status === 429 && this.now() + wait > deadline) return r; // still limited: a GovernorError
        await r.body?.cancel();
        why = `answered ${r.status}`;
        status = r.status;
      } catch (e) {
        const code = (e as { cause?: { code?: string } }).cause?.code;
        if (!repeatable && !(code && CONNECT_FAILURES.has(code))) {
          throw new GovernorUnavailable(`${method} ${path}: ${String(e)} (not repeated)`);
        }
        why = String(code ?? e);
      }
      if (this.now() + wait > deadline) {
        throw new GovernorUnavailable(`${method} ${path}: ${why}; gave up after ${this.retryWithinMs} ms`, status);
      }
      await this.sleep(wait);
      backoff = Math.min(backoff * 2, 4000);
    }
  }
}

function controlsPath(guardianId: string, userId: string): string {
  return `/v1/guardians/${seg(guardianId)}/children/${seg(userId)}/controls`;
}

/** The answer's JSON object; a 502/503/504 (one a non-repeatable call was not repeated after) is
 * GovernorUnavailable. */
async function jsonObject(r: Response, method: string, path: string): Promise<Record<string, unknown>> {
  if (UNAVAILABLE.has(r.status)) throw new GovernorUnavailable(`${method} ${path}: answered ${r.status}`, r.status);
  const answer = await r.json().catch(() => null) as unknown;
  if (answer === null || typeof answer !== "object" || Array.isArray(answer)) {
    throw new GovernorError(r.status, "about:blank", `${method} ${path}: not a JSON object`);
  }
  return answer as Record<string, unknown>;
}

function problem(status: number, answer: Record<string, unknown>): GovernorError {
  return new GovernorError(status, String(answer.type ?? "about:blank"), answer.detail as string | undefined, answer);
}

function retryAfter(value: string | null, now: () => number): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now());
}
