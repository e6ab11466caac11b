/** GovernorSession: one chat's session, kept alive by a timer until it is closed or ended. */
import type { GovernorClient } from "./client.js";
import { GovernorError, GovernorUnavailable } from "./errors.js";
import type { Decision, EndDecision, Warning } from "./types.js";

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
      const key = `${w.type}:${w.number ?? ""}:${w.cause ?? ""}`;  // new by type, reminder number, cause
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
