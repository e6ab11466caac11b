/**
 * governor-client: the session loop of a chat frontend against Governor.
 *
 *   const governor = new GovernorClient({ baseUrl, token });
 *   const status = await governor.status("u-123");            // ask before the chat
 *   const session = await governor.session({ userId: "u-123", onWarning, onEnd });
 *   if (!session.decision?.allowed) showBreakScreen(session.decision);
 *   ...
 *   await session.close();                                     // when the chat closes
 *
 * Decisions keep the wire's field names. A refusal is a decision with `allowed: false`, never an
 * exception; a problem answer is a thrown `GovernorError`; a server that cannot be reached, or keeps
 * answering 503, is a thrown `GovernorUnavailable` once the retries (within `retryWithinMs`,
 * honouring Retry-After) are spent. The types come from Governor's /openapi.json (src/schema.ts is
 * generated: `npm run generate`).
 */
import type { paths } from "./schema.js";

type JsonAnswer<P extends keyof paths, M extends keyof paths[P], C extends number> =
  paths[P][M] extends { responses: infer R }
    ? R extends { [K in C]: { content: { "application/json": infer B } } } ? B : never
    : never;

/** POST /v1/sessions, 201: a decision with `session_id` and `heartbeat_interval_seconds`. */
export type Started = JsonAnswer<"/v1/sessions", "post", 201>;
/** POST /v1/sessions, 403: a refused decision. */
export type Refusal = JsonAnswer<"/v1/sessions", "post", 403>;
export type Heartbeat = JsonAnswer<"/v1/sessions/{session_id}/heartbeat", "post", 200>;
export type Ended = JsonAnswer<"/v1/sessions/{session_id}/end", "post", 200>;
export type Status = JsonAnswer<"/v1/users/{user_id}/status", "get", 200>;
/** Any decision; the fields that only some answers carry are optional. */
export type Decision = Refusal & Partial<Omit<Started & Ended & Status, keyof Refusal>>;
export type Warning = Refusal["warnings"][number] & { number?: number | null };
/** The reasons of the server, and the helper's own `unavailable` (fail-closed) and end reasons. */
export type EndDecision = Omit<Decision, "reason"> & { reason: string };

// Fails to compile when a regenerated schema.ts no longer gives these answers their shape.
const _typesResolve: [Started["session_id"], Refusal["allowed"], Heartbeat["used_today_seconds"],
  Ended["duration_seconds"], Status["active_sessions"]] = ["s", false, 0, 0, 0];
void _typesResolve;

export class GovernorError extends Error {
  readonly status: number;
  readonly type: string;
  readonly detail: string | undefined;
  readonly problem: Record<string, unknown>;

  constructor(status: number, type: string, detail?: string, problem: Record<string, unknown> = {}) {
    super(`${status} ${type}: ${detail ?? ""}`);
    this.name = "GovernorError";
    this.status = status;
    this.type = type;
    this.detail = detail;
    this.problem = problem;
  }
}

export class GovernorUnavailable extends GovernorError {
  constructor(detail: string, status = 0) {
    super(status, "unavailable", detail);
    this.name = "GovernorUnavailable";
  }
}

export interface ClientOptions {
  baseUrl: string;
  /** A bearer token of scope `sessions`, or a function giving one (called per request). */
  token: string | (() => string | Promise<string>);
  timeoutMs?: number;
  retryWithinMs?: number;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

export interface SessionOptions {
  userId: string;
  purpose?: string;
  /** Seconds between heartbeats; default: the server's `heartbeat_interval_seconds`. */
  interval?: number;
  onWarning?: (warning: Warning) => void;
  /** Every decision (the start's and each heartbeat's), to show the remaining time. */
  onDecision?: (decision: Decision) => void;
  /** Called once when the server (or an outage, when fail-closed) ends the session. */
  onEnd?: (decision: EndDecision) => void;
  /** Keep chatting when Governor cannot be reached (default false: fail-closed). */
  failOpen?: boolean;
  /** Runs `fn` (one heartbeat) after `ms` and returns a function that cancels it; tests pass
   * their own and await what `fn` returns, so nothing sleeps. Default: setTimeout. */
  schedule?: (fn: () => Promise<void>, ms: number) => () => void;
}

const UNAVAILABLE = new Set([502, 503, 504]);
const RETRYABLE = new Set([...UNAVAILABLE, 429]); // 429: a rate limit; its Retry-After says when
const NOT_CARRIED_OUT = new Set([429, 503]); // answers after which any request, a start too, may be repeated
const CONNECT_FAILURES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH",
  "UND_ERR_CONNECT_TIMEOUT"]);

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

  /** The decision for starting a session now, with no side effect. */
  status(userId: string, purpose?: string): Promise<Status> {
    const query = purpose ? `?purpose=${encodeURIComponent(purpose)}` : "";
    return this.decision("GET", `/v1/users/${encodeURIComponent(userId)}/status${query}`) as Promise<Status>;
  }

  /** Ask to start a session: allowed with `session_id`, or refused (`allowed: false`). */
  start(userId: string, purpose?: string): Promise<Started | Refusal> {
    const body = purpose ? { user_id: userId, purpose } : { user_id: userId };
    // A start that may have reached the server is not repeated (it could admit a second session).
    return this.decision("POST", "/v1/sessions", body, false) as Promise<Started | Refusal>;
  }

  /** Keep the session alive; `allowed: false` means the server has ended it. */
  heartbeat(sessionId: string): Promise<Heartbeat> {
    return this.decision("POST", `/v1/sessions/${encodeURIComponent(sessionId)}/heartbeat`) as Promise<Heartbeat>;
  }

  /** End the session (idempotent): the user's decision with `duration_seconds` and `end_reason`. */
  end(sessionId: string): Promise<Ended> {
    return this.decision("POST", `/v1/sessions/${encodeURIComponent(sessionId)}/end`) as Promise<Ended>;
  }

  /** Start a session and keep it alive until `close()` or until the server ends it. */
  async session(options: SessionOptions): Promise<GovernorSession> {
    const session = new GovernorSession(this, options);
    await session.open();
    return session;
  }

  private async decision(method: string, path: string, body?: unknown, repeatable = true): Promise<Decision> {
    const r = await this.request(method, path, body, repeatable);
    if (UNAVAILABLE.has(r.status)) throw new GovernorUnavailable(`${method} ${path}: answered ${r.status}`, r.status);
    const answer = await r.json().catch(() => null) as Record<string, unknown> | null;
    if (answer === null || typeof answer !== "object") {
      throw new GovernorError(r.status, "about:blank", `${method} ${path}: not a JSON object`);
    }
    if (r.status === 200 || r.status === 201 || (r.status === 403 && "allowed" in answer)) {
      return answer as unknown as Decision;
    }
    throw new GovernorError(r.status, String(answer.type ?? "about:blank"), answer.detail as string | undefined,
      answer);
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

function retryAfter(value: string | null, now: () => number): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now());
}

/** See `GovernorClient.session`. `decision` is the latest decision; `ended` says whether the session
 * is over (refused, ended by the server, or closed). */
export class GovernorSession {
  sessionId: string | undefined;
  decision: Decision | undefined;
  ended = false;
  private readonly seen = new Set<string>();
  private cancel: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private intervalSeconds: number | undefined;
  private closing = false;
  private readonly schedule: (fn: () => Promise<void>, ms: number) => () => void;

  constructor(private readonly client: GovernorClient, private readonly options: SessionOptions) {
    this.schedule = options.schedule ?? ((fn, ms) => {
      const t = setTimeout(() => void fn(), ms);
      return () => clearTimeout(t);
    });
  }

  /** Start (a refusal leaves the session ended, with the decision to show); then the timer runs. */
  async open(): Promise<void> {
    try {
      this.update(await this.client.start(this.options.userId, this.options.purpose));
    } catch (e) {
      if (!(e instanceof GovernorUnavailable) || !this.options.failOpen) throw e;
    }
    if (this.decision && !this.decision.allowed) {
      this.ended = true;
      return;
    }
    this.arm();
  }

  /** Stop the timer and end the session on the server (the end's decision becomes `decision`). */
  async close(): Promise<void> {
    this.closing = true;
    this.cancel?.();
    await this.running;
    if (this.ended) return;
    this.ended = true;
    if (this.sessionId === undefined) return;
    try {
      this.decision = await this.client.end(this.sessionId);
    } catch (e) {
      if (!(e instanceof GovernorError)) throw e; // unreachable: the server's sweeper closes it
    }
  }

  private arm(): void {
    if (this.closing) return;
    this.cancel = this.schedule(() => {
      this.cancel = undefined;
      this.running = this.tick().finally(() => { this.running = undefined; });
      return this.running;
    }, this.nextWaitMs());
  }

  /** The heartbeat interval, or sooner when a warning says the session ends before it. */
  private nextWaitMs(): number {
    const interval = this.options.interval ?? this.intervalSeconds ?? 60;
    const ends = (this.decision?.warnings ?? []).map((w) => w.seconds_left).filter((s): s is number => s != null);
    return Math.max(1, Math.min(interval, ...ends)) * 1000;
  }

  private async tick(): Promise<void> {
    if (this.ended || this.closing) return;
    let d: Decision;
    try {
      d = this.sessionId === undefined
        ? await this.client.start(this.options.userId, this.options.purpose)
        : await this.client.heartbeat(this.sessionId);
    } catch (e) {
      if (e instanceof GovernorUnavailable && this.options.failOpen) return this.arm();
      if (!(e instanceof GovernorError)) throw e;
      const reason = e instanceof GovernorUnavailable ? "unavailable"
        : String(e.problem.end_reason ?? e.type.split(":").pop());
      this.finish(this.endedAs(reason));
      if (e instanceof GovernorUnavailable && this.sessionId !== undefined) {
        await this.client.end(this.sessionId).catch(() => undefined); // the sweeper closes it otherwise
      }
      return;
    }
    this.update(d);
    if (!d.allowed) return this.finish(d);
    this.arm();
  }

  private update(d: Decision): void {
    this.decision = d;
    this.sessionId = d.session_id ?? this.sessionId;
    this.intervalSeconds = d.heartbeat_interval_seconds ?? this.intervalSeconds;
    this.options.onDecision?.(d);
    for (const w of d.warnings as Warning[]) {
      const key = `${w.type}:${w.number ?? ""}`;
      if (this.seen.has(key)) continue;
      this.seen.add(key);
      this.options.onWarning?.(w);
    }
  }

  private endedAs(reason: string): EndDecision {
    const base = this.decision ?? ({ user_id: this.options.userId, warnings: [] } as unknown as Decision);
    return { ...base, allowed: false, reason, warnings: [], ends_at: null };
  }

  private finish(d: EndDecision): void {
    this.decision = d as Decision;
    this.ended = true;
    this.options.onEnd?.(d);
  }
}
