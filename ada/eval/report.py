"""report.html: one self-contained page per evaluation, readable without Python or a network.

results.json holds everything but is not meant for reading, and the CSVs and plot.png are
separate files. The report puts settings, plot, per-trial, expert-normalised, paired and
per-task tables and the recorded videos on one page that opens from the output directory with
a double click. It is built only from results.json's record (`ada.eval.trials.results_dict`)
so that it can be regenerated from an old run's results.json, and it loads nothing from
anywhere else: the plot is inlined as a data URI, the styles and the few lines of sorting code
are inline, and the videos are referenced by their paths relative to the report.

`chosen_tasks` picks which tasks get a video: the best, median and worst by the agent's
last-trial score, since the first tasks of a list say nothing about the spread of outcomes.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np

from ada.atomic_file import write_text_atomic

DASH = "–"  # shown for a missing or undefined number (None, NaN)
STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;
max-width:1200px;padding:0 16px;color:#222;line-height:1.4}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:1.8em;
border-bottom:1px solid #ddd;padding-bottom:.2em}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}
th,td{border:1px solid #d5d5d5;padding:3px 8px;text-align:left}
th{background:#f3f3f3}td.n{text-align:right;font-variant-numeric:tabular-nums}
table.sortable th{cursor:pointer;user-select:none}
table.sortable th[data-dir=asc]::after{content:" \\25B2"}
table.sortable th[data-dir=desc]::after{content:" \\25BC"}
.note{color:#555;font-size:.9em}img.plot{max-width:100%;border:1px solid #ddd}
.videos{display:flex;flex-wrap:wrap;gap:16px}
figure{margin:0;max-width:400px}
video{display:block;width:400px;max-width:100%;max-height:400px;background:#000}
figcaption{font-size:.85em}
"""
# Sorts a table.sortable by the clicked column: numbers by data-v (a missing one last), text
# otherwise; a second click on the same header reverses the order.
SCRIPT = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("thead th").forEach(function (th, col) {
    th.addEventListener("click", function () {
      var dir = th.dataset.dir === "asc" ? "desc" : "asc";
      table.querySelectorAll("thead th").forEach(function (h) { delete h.dataset.dir; });
      th.dataset.dir = dir;
      var body = table.tBodies[0], rows = Array.from(body.rows), sign = dir === "asc" ? 1 : -1;
      var key = function (row) {
        var cell = row.cells[col], v = cell.dataset.v;
        return v === undefined ? cell.textContent : (v === "" ? NaN : parseFloat(v));
      };
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        if (typeof x === "number" || typeof y === "number") {
          if (isNaN(x) || isNaN(y)) { return isNaN(x) - isNaN(y); }
          return sign * (x - y);
        }
        return sign * String(x).localeCompare(String(y));
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
"""


# ---- video choice --------------------------------------------------------------------------------
def chosen_tasks(agent_scores: np.ndarray, n: int) -> list[tuple[str, int]]:
    """Up to `n` distinct (label, task index) pairs: "best", "median", "worst", then "rank 2",
    "rank 3", ... for further tasks in rank order.

    Tasks are ranked by the agent's last-trial score averaged over episodes, highest first,
    ties by task index (lowest first), so the choice is reproducible. The median is the
    upper middle of the ranking for an even count. Labels that fall on a task already chosen
    (fewer than three tasks) are skipped rather than recording the same episode twice."""
    s = np.asarray(agent_scores, np.float64)
    if s.ndim != 3:
        raise ValueError(f"agent_scores: shape {s.shape} is not (tasks, episodes, trials)")
    if n < 0:
        raise ValueError(f"n: {n} must be >= 0")
    if n == 0 or s.shape[0] == 0 or 0 in s.shape[1:]:
        return []
    last = np.nan_to_num(s[:, :, -1].mean(axis=1), nan=-np.inf)  # an undefined score ranks last
    order = sorted(range(len(last)), key=lambda i: (-last[i], i))
    picks = [("best", order[0]), ("median", order[(len(order) - 1) // 2]),
             ("worst", order[-1])]
    picks += [(f"rank {r + 1}", t) for r, t in enumerate(order)]
    out: list[tuple[str, int]] = []
    for label, t in picks:
        if len(out) == n:
            break
        if all(t != u for _, u in out):
            out.append((label, int(t)))
    return out


# ---- formatting ----------------------------------------------------------------------------------
def _num(x: Any, signed: bool = False) -> str:
    """3 decimals; a dash for None, NaN or anything that is not a number."""
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
        return DASH
    if isinstance(x, int):
        return str(x)
    return f"{x:+.3f}" if signed else f"{x:.3f}"


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _td(x: Any, signed: bool = False) -> str:
    """A number cell, with its raw value in data-v for sorting ("" when undefined)."""
    ok = isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
    return f'<td class="n" data-v="{_e(repr(float(x))) if ok else ""}">{_num(x, signed)}</td>'


def _table(head: Sequence[str], rows: Iterable[Sequence[str]], cls: str = "",
           head_html: str | None = None) -> str:
    """`head` are plain-text headers (escaped here); cells in `rows` are ready <td> markup."""
    if head_html is None:
        head_html = "<tr>" + "".join(f"<th>{_e(h)}</th>" for h in head) + "</tr>"
    thead = f"<thead>{head_html}</thead>" if head_html else ""
    body = "".join("<tr>" + "".join(r) + "</tr>" for r in rows)
    c = f' class="{cls}"' if cls else ""
    return f"<table{c}>{thead}<tbody>{body}</tbody></table>"


def _by_policy(rows: list[dict[str, Any]]) -> dict[str, dict[int, dict[str, Any]]]:
    out: dict[str, dict[int, dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(str(r["policy"]), {})[int(r["trial"])] = r
    return out


def _trial_table(rows: list[dict[str, Any]], stats: Sequence[str],
                 extra: dict[str, str] | None = None) -> str:
    """Policy x trial with `stats` under each trial, n tasks per row (a policy such as the
    human one may cover fewer tasks), and an optional column of preformatted cells."""
    by = _by_policy(rows)
    trials = max((k for ks in by.values() for k in ks), default=0)
    tail = [f"gain 1->{trials}"] if extra is not None else []
    top = ("<tr><th rowspan=2>policy</th><th rowspan=2>n tasks</th>"
           + "".join(f"<th colspan={len(stats)}>trial {k}</th>" for k in range(1, trials + 1))
           + "".join(f"<th rowspan=2>{_e(t)}</th>" for t in tail) + "</tr><tr>"
           + "".join(f"<th>{_e(s)}</th>" for _ in range(trials) for s in stats) + "</tr>")
    body = []
    for p, ks in by.items():
        n = sorted({r.get("n_tasks") for r in ks.values()}, key=str)
        cells = [f"<td>{_e(p)}</td>", f'<td class="n">{_e(", ".join(map(str, n)))}</td>']
        for k in range(1, trials + 1):
            cells += [_td(ks.get(k, {}).get(s)) for s in stats]
        if extra is not None:
            cells.append(extra.get(p, _td(None)))
        body.append(cells)
    return _table([], body, head_html=top)


# ---- sections ------------------------------------------------------------------------------------
def _settings(record: dict[str, Any]) -> str:
    meta, tasks = record.get("meta", {}), record.get("tasks", [])
    items = [("checkpoint", meta.get("checkpoint")), ("run", meta.get("run_name")),
             ("tasks", meta.get("tasks")), ("n tasks", len(tasks)),
             ("trials", meta.get("trials")), ("episodes per task", meta.get("episodes_per_task")),
             ("seed", meta.get("seed")), ("family", meta.get("family")),
             ("image size", meta.get("image_size")), ("greedy", meta.get("greedy")),
             ("trial steps override", meta.get("trial_steps_override")),
             ("policies", ", ".join(map(str, record.get("policies", [])))),
             ("score", meta.get("score"))]
    rows = [[f"<th>{_e(k)}</th>", f"<td>{_e(v)}</td>"] for k, v in items if v is not None]
    return _table([], rows, head_html="")


def _plot(out_dir: Path) -> str:
    path = out_dir / "plot.png"
    if not path.is_file():
        return ""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (f'<img class="plot" alt="mean score per trial" '
            f'src="data:image/png;base64,{data}">')


def _versus(record: dict[str, Any]) -> str:
    versus = record.get("versus") or {}
    if not versus:
        return ""
    first = _e((record.get("policies") or ["agent"])[0])
    rows = [[f"<td>{first} &minus; {_e(o)}</td>", _td(v.get("mean"), True), _td(v.get("se")),
             _td(v.get("higher")), _td(v.get("lower")), _td(v.get("n_tasks"))]
            for o, v in versus.items()]
    return ("<h2>Paired comparisons</h2><p class=note>Difference of the per-task score averaged "
            "over trials, paired by task and seed; s.e. is the paired standard error.</p>"
            + _table(["pair", "mean", "s.e.", "higher", "lower", "n tasks"], rows))


def _normalised(record: dict[str, Any]) -> str:
    norm = record.get("normalised")
    if not norm:
        return ""
    zero = record.get("expert_zero_tasks") or []
    names = ", ".join(_e(t.get("name")) for t in zero)
    return ("<h2>Expert-normalised scores</h2>"
            f"<p class=note>Score: {_e(norm.get('score', ''))}. Tasks left out (n_excluded): "
            f"{_num(norm.get('n_excluded'))}{': ' + names if names else ''}.</p>"
            + _trial_table(norm.get("per_trial", []), ("median", "p20")))


def _human(record: dict[str, Any]) -> str:
    """The note always (it says why there are no human rows, when there are none), then what
    the recordings were: the flat "players" list or, per player kind, its players and tasks."""
    human = record.get("human")
    if not isinstance(human, dict):
        return ""
    parts = [f"<h2>Human baselines</h2><p>{_e(human.get('note', ''))}</p>"]
    facts = [("source", human.get("source")), ("recordings", human.get("n_recordings")),
             ("recordings used", human.get("n_used"))]
    if human.get("players"):
        facts.append(("players", ", ".join(map(str, human["players"]))))
    facts = [(k, v) for k, v in facts if v is not None]
    if facts:
        parts.append(_table([], [[f"<th>{_e(k)}</th>", f"<td>{_e(v)}</td>"] for k, v in facts],
                            head_html=""))
    kinds = human.get("kinds") or {}
    if kinds:
        parts.append(_table(["player kind", "players", "n tasks"], [
            [f"<td>{_e(k)}</td>", f"<td>{_e(', '.join(map(str, v.get('players', []))))}</td>",
             _td(v.get("n_tasks"))] for k, v in kinds.items()]))
    return "".join(parts)


def _median_cell(x: Any) -> str:
    """A median time; None is a median that was never reached, not a missing number."""
    return '<td class="n" data-v="">not reached</td>' if x is None else _td(x)


def _timescale(record: dict[str, Any]) -> str:
    ts = record.get("timescale")
    if not isinstance(ts, dict) or not ts:
        return ""
    minutes = sorted({int(m["minute"]) for v in ts.values()
                      for m in v.get("score_after_minute", [])})
    head = ["policy", "trials to first success (median)", "solved / tasks",
            "seconds to first success (median)", "solved / tasks",
            *(f"after {m} min: mean / median (n tasks)" for m in minutes)]
    rows = []
    for p, v in ts.items():
        cells = [f"<td>{_e(p)}</td>"]
        for key in ("trials_to_first_success", "seconds_to_first_success"):
            s = v.get(key) or {}
            cells += [_median_cell(s.get("median")),
                      f'<td class="n">{_num(s.get("solved"))} / {_num(s.get("n_tasks"))}</td>']
        at = {int(m["minute"]): m for m in v.get("score_after_minute", [])}
        for m in minutes:
            a = at.get(m, {})
            cells.append(f'<td class="n">{_num(a.get("mean"))} / {_num(a.get("median"))} '
                         f'({_num(a.get("n_tasks"))})</td>')
        rows.append(cells)
    return ("<h2>Human-timescale figures</h2><p class=note>Game time to the first rewarded "
            "step, median over tasks; a task never solved counts as never, so the median is "
            "not reached when half the tasks or more were not solved. After m minutes: the "
            "fraction of steps rewarded in the first m minutes of play.</p>"
            + _table(head, rows))


def _recorded(record: dict[str, Any], n: int) -> dict[str, tuple[list[Any], list[Any]]]:
    """kind -> (per-task scores or None, players per task) for the recorded players, which
    played only some tasks and so are not in record["scores"]."""
    human = record.get("human") if isinstance(record.get("human"), dict) else {}
    out = {}
    for kind in dict.fromkeys(["human", *(human.get("kinds") or {})]):
        scores = record.get(f"{kind}_scores")
        if isinstance(scores, list) and len(scores) == n:
            players = record.get(f"{kind}_players") or []
            out[str(kind)] = (scores, players if len(players) == n else [None] * n)
    return out


def _per_task(record: dict[str, Any]) -> str:
    tasks = record.get("tasks", [])
    n = len(tasks)
    recorded = _recorded(record, n)
    per_policy: dict[str, np.ndarray] = {}
    for p in record.get("policies", []):
        s = np.asarray(record.get("scores", {}).get(p, []), np.float64)
        if s.ndim == 3 and s.shape[0] == n and 0 not in s.shape and p not in recorded:
            per_policy[p] = s.mean(axis=1)  # (tasks, trials)
    head = ["#", "task", "task id"]
    for p in per_policy:
        head += [f"{p} last trial", f"{p} mean"]
    for kind in recorded:
        head += [f"{kind} last trial", f"{kind} mean", f"{kind} players"]
    rows = []
    for i, t in enumerate(tasks):
        cells = [_td(t.get("index", i)), f"<td>{_e(t.get('name'))}</td>",
                 f"<td>{_e(t.get('task_id'))}</td>"]
        for s in per_policy.values():
            cells += [_td(float(s[i, -1])), _td(float(s[i].mean()))]
        for scores, players in recorded.values():
            h = scores[i]
            cells += [_td(float(h[-1])), _td(float(np.mean(h)))] if h else [_td(None)] * 2
            cells.append(_td(players[i]))
        rows.append(cells)
    return ("<h2>Per task</h2><p class=note>Score per task averaged over episodes (recorded "
            "players: over their players): the last trial and the mean over trials. Click a "
            "column header to sort.</p>" + _table(head, rows, cls="sortable"))


def _videos(record: dict[str, Any]) -> str:
    videos = record.get("meta", {}).get("videos") or []
    if not videos:
        return ""
    figs = []
    for v in videos:
        returns = ", ".join(_num(float(r)) for r in v.get("returns", []))
        label = f"{v['label']}: " if v.get("label") else ""
        figs.append(
            f'<figure><video controls preload="metadata" '
            f'src="{_e(quote(str(v.get("path", "")), safe="/"))}"></video>'
            f"<figcaption><b>{_e(label)}</b>{_e(v.get('task'))} (task {_e(v.get('task_index'))},"
            f" episode {_e(v.get('episode'))}); returns per trial: {_e(returns)}</figcaption>"
            "</figure>")
    return "<h2>Videos</h2><div class=videos>" + "".join(figs) + "</div>"


# ---- page ------------------------------------------------------------------------------------
def report_html(out_dir: Path, record: dict[str, Any]) -> str:
    """The page for `record` (results.json's content); out_dir is where plot.png is read."""
    meta = record.get("meta", {})
    title = f"Evaluation: {meta.get('run_name') or meta.get('checkpoint') or out_dir.name}"
    gain = {p: _td(g, True) for p, g in (record.get("gain") or {}).items()}
    body = [f"<h1>{_e(title)}</h1>", _settings(record), _plot(Path(out_dir)),
            "<h2>Score per trial</h2><p class=note>Fraction of a trial's steps on which the "
            "goal held: mean, median and 20th percentile across tasks.</p>",
            _trial_table(record.get("per_trial", []), ("mean", "median", "p20"), gain),
            _normalised(record), _versus(record), _human(record), _timescale(record),
            _per_task(record), _videos(record)]
    return ("<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
            '<meta name=viewport content="width=device-width,initial-scale=1">'
            f'<link rel="icon" href="data:,"><title>{_e(title)}</title>'
            f"<style>{STYLE}</style></head><body>\n" + "\n".join(b for b in body if b)
            + f"\n<script>{SCRIPT}</script></body></html>\n")


def write_report(out_dir: Path, record: dict[str, Any]) -> Path:
    """Writes out_dir/report.html atomically (`ada.atomic_file`): a reader never sees half a
    page and a failed write leaves the old report in place."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "report.html"
    text = report_html(out_dir, record)
    return write_text_atomic(path, text)


__all__ = ["chosen_tasks", "report_html", "write_report"]
