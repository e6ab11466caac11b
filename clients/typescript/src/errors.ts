/** A problem answer (RFC 9457): `status`, `type` (e.g. "urn:governor:problem:session-ended"), `detail`,
 * and the whole body in `problem`. */
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

/** Governor could not be reached, or kept answering 502/503/504, for the whole retry budget (a 429
 * that outlasts it is a plain GovernorError). */
export class GovernorUnavailable extends GovernorError {
  constructor(detail: string, status = 0) {
    super(status, "unavailable", detail);
    this.name = "GovernorUnavailable";
  }
}
