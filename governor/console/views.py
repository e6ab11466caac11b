"""The console's pages: home and search, a user, complaints, the daily report."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import g, redirect, render_template, request, url_for

from governor.console import _svc, age, bp, charts, forms, guardians, signed_in
from governor.errors import RETRY_AFTER_SECONDS, NotFound, Problem, TooManyRequests
from governor.service import admin, admin_users, complaints, reports, users
from governor.store.database import DatabaseUnavailable

USAGE_DAYS = 14


@bp.errorhandler(Problem)
def _problem(e: Problem):
    headers = {"Retry-After": str(e.retry_after)} if isinstance(e, TooManyRequests) else {}  # as the API's 429
    return render_template("console/error.html", status=e.status, title=e.title, detail=e.detail), e.status, headers


@bp.errorhandler(DatabaseUnavailable)
def _unavailable(e: DatabaseUnavailable):
    return (render_template("console/error.html", status=503, title="Database unavailable",
                            detail="The database cannot be reached; retry shortly."), 503,
            {"Retry-After": str(RETRY_AFTER_SECONDS)})


@bp.get("/")
@signed_in
def home():
    return render_template("console/home.html")


@bp.get("/users")
@signed_in
def search():
    q = request.args.get("q", "").strip()
    if not q:
        return redirect(url_for("console.home"))
    if forms.valid_user_id(q):
        if admin_users.search(_svc(), q, 1) == [q]:
            return redirect(url_for("console.user", uid=q))
    found = admin_users.search(_svc(), q, 50) if len(q) <= 128 else []
    return render_template("console/home.html", q=q, found=found, searched=True)


@bp.get("/users/<uid>")
@signed_in
def user(uid: str):
    return _user_page(uid)


def _user_page(uid: str, error: str | None = None, status: int = 200):
    if not forms.valid_user_id(uid):
        raise NotFound("not a user id: 1-128 characters of A-Z a-z 0-9 . _ : @ -")
    svc = _svc()
    o = admin_users.overview(svc, uid)
    recent, events = admin_users.recent(svc, uid)
    today = o.now.astimezone(o.zone).date()
    days = users.usage(svc, uid, today - timedelta(days=USAGE_DAYS - 1), today)
    chart = charts.bar_chart([(d.date.strftime("%m-%d"), d.seconds / 60,
                               f"{d.date.isoformat()}: {d.seconds // 60} min {d.seconds % 60} s, {d.sessions} sessions")
                              for d in days], "min", highlight=today.strftime("%m-%d"),
                             limits=_daily_limits(o, [d.date for d in days]), limit_label="daily limit")
    page = render_template("console/user.html", o=o, d=o.decision, recent=recent, events=events, chart=chart,
                           days=days, today=today, zone=o.zone, error=error, done=request.args.get("done"),
                           family=guardians.section(svc, uid), age=age.section(svc, uid))
    return page, status


def _daily_limits(o, days: list[date]) -> list[float | None]:
    """Each day's daily limit of the user's band today, or the user's own stricter one (grants and
    guardians' limits not drawn)."""
    policy, _ = admin.active_policy(_svc())
    rules = policy.bands[o.decision.band]
    limits = [rules.daily_limit_minutes(day, day in policy.holidays) for day in days]
    own = o.daily_limit_minutes
    return [own if own is not None and (x is None or own < x) else x for x in limits]


def _change(uid: str, done: str, action):
    """Run one change; back to the user's page (a redirect, so a reload does not repeat it), or
    the page again with the problem."""
    if not forms.valid_user_id(uid):
        raise NotFound("not a user id")
    try:
        action()
    except NotFound:
        raise
    except Problem as e:
        return _user_page(uid, error=e.detail, status=e.status)
    return redirect(url_for("console.user", uid=uid, done=done))


@bp.post("/users/<uid>/grants")
@signed_in
def grant(uid: str):
    def act():
        minutes, day, reason = forms.grant(request.form)
        admin.add_grant(_svc(), uid, minutes, day, reason, g.principal.sub)
    return _change(uid, "granted", act)


@bp.post("/users/<uid>/grants/<int:gid>/revoke")
@signed_in
def revoke(uid: str, gid: int):
    return _change(uid, "revoked", lambda: admin_users.revoke_grant(_svc(), uid, gid, g.principal.sub))


@bp.post("/users/<uid>/lock")
@signed_in
def lock(uid: str):
    def act():
        o = admin_users.overview(_svc(), uid)
        until, reason = forms.lock(request.form, o.zone, o.now)
        admin.lock(_svc(), uid, until, reason, g.principal.sub)
    return _change(uid, "locked", act)


@bp.post("/users/<uid>/unlock")
@signed_in
def unlock(uid: str):
    return _change(uid, "unlocked",
                   lambda: admin.unlock(_svc(), uid, forms.reason(request.form), g.principal.sub))


@bp.post("/users/<uid>/settings")
@signed_in
def settings(uid: str):
    def act():
        tz, limit = forms.settings(request.form)
        admin.change_settings(_svc(), uid, tz, limit, g.principal.sub)
    return _change(uid, "saved", act)


@bp.get("/complaints")
@signed_in
def complaint_list():
    status = request.args.get("status", "open")
    if status not in (*complaints.STATUSES, "all"):
        status = "open"
    after = forms.whole(request.args.get("after", "0"), "after", 0, 10**18)
    items, more = complaints.listing(_svc(), None if status == "all" else status, after, 50)
    return render_template("console/complaints.html", items=items, status=status, statuses=complaints.STATUSES,
                           next_after=items[-1].cursor if more and items else None, done=request.args.get("done"))


@bp.post("/complaints/<cid>")
@signed_in
def complaint_update(cid: str):
    status, assignee, resolution = forms.complaint(request.form)
    complaints.update(_svc(), cid[:40], status, assignee, resolution, g.principal.sub)
    return redirect(url_for("console.complaint_list", status=request.form.get("back", "open"), done=cid[:40]))


@bp.get("/reports/daily")
@signed_in
def daily_report():
    day = forms.day(request.args.get("date", ""))
    report = reports.daily(_svc(), day)
    bands = report["bands"]
    chart = charts.bar_chart([(band, row["minutes"], f"{band}: {charts.number(row['minutes'])} min, "
                               f"{row['sessions']} sessions, {row['users_active']} users")
                              for band, row in bands.items()], "min")
    shown = date.fromisoformat(report["date"])
    return render_template("console/report.html", r=report, chart=chart, day=shown,
                           prev=shown - timedelta(days=1), next=shown + timedelta(days=1))


def local(t: datetime | None, zone) -> str:
    return "" if t is None else t.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


@bp.app_template_filter("duration")
def duration(seconds: int | None) -> str:
    if seconds is None:
        return "unlimited"
    h, rest = divmod(int(seconds), 3600)
    m, s = divmod(rest, 60)
    return (f"{h} h " if h else "") + f"{m} min {s:02d} s"


@bp.app_context_processor
def _helpers():
    return {"local": local, "number": charts.number, "span": age.span}
