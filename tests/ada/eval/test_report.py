"""ada.eval.report: which tasks get a video, and report.html built from a real evaluation's
results.json, checked as text and in a real headless chromium."""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from dm_env import specs

from ada.eval.human import NO_RECORDINGS
from ada.eval.report import chosen_tasks, write_report
from ada.eval.timescale import timescale
from ada.eval.trials import evaluate_policies, write_results
from ada.policies import make_policy
from ada.render import render_episode
from ada.video import Mp4Writer
from worlds.avatar import NOOP, NUM_ACTIONS
from worlds.task_files import sample_family_task

SCRATCH = Path("/work/scratch")


def scores(last: list[float], earlier: float = 0.5, episodes: int = 2) -> np.ndarray:
    """(tasks, episodes, 2 trials) with the given last-trial score on every episode."""
    s = np.full((len(last), episodes, 2), earlier)
    s[:, :, -1] = np.asarray(last)[:, None]
    return s


# ---- chosen_tasks --------------------------------------------------------------------------------
def test_chosen_tasks_orders_best_median_worst_then_by_rank() -> None:
    s = scores([0.2, 0.9, 0.5, 0.0, 0.7])  # ranking: 1, 4, 2, 0, 3
    assert chosen_tasks(s, 3) == [("best", 1), ("median", 2), ("worst", 3)]
    assert chosen_tasks(s, 1) == [("best", 1)]
    assert chosen_tasks(s, 5) == [("best", 1), ("median", 2), ("worst", 3), ("rank 2", 4),
                                  ("rank 4", 0)]


def test_chosen_tasks_ranks_the_last_trial_averaged_over_episodes() -> None:
    s = scores([0.5, 0.5])
    s[0, :, 0] = 1.0  # an earlier trial does not count
    s[1, 0, -1], s[1, 1, -1] = 1.0, 0.2  # mean 0.6 beats 0.5
    assert chosen_tasks(s, 2) == [("best", 1), ("worst", 0)]


def test_chosen_tasks_breaks_ties_by_task_index() -> None:
    s = scores([0.0, 0.0, 0.0, 0.0])
    # even count: the median is the upper middle of the ranking
    assert chosen_tasks(s, 4) == [("best", 0), ("median", 1), ("worst", 3), ("rank 3", 2)]
    assert chosen_tasks(scores([0.3, 0.1, 0.3]), 3) == [("best", 0), ("median", 2),
                                                         ("worst", 1)]


def test_chosen_tasks_with_n_larger_than_the_tasks_or_zero() -> None:
    assert chosen_tasks(scores([0.4]), 3) == [("best", 0)]
    assert chosen_tasks(scores([0.1, 0.4]), 10) == [("best", 1), ("worst", 0)]
    assert chosen_tasks(scores([0.1, 0.4]), 0) == []
    assert chosen_tasks(np.zeros((0, 1, 2)), 3) == []
    with pytest.raises(ValueError, match="tasks, episodes, trials"):
        chosen_tasks(np.zeros((2, 2)), 1)


# ---- report.html from a real evaluation ----------------------------------------------------------
@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """Three tiny-family tasks (one named with markup, one the expert scores 0 on in 8 steps)
    played by random, noop and the expert, written by write_results, with first-policy videos
    of the chosen tasks rendered from the same jobs as `ada.evaluate.run` records them and its
    human and timescale sections; then report.html from results.json."""
    tmp_path = tmp_path_factory.mktemp("report")
    tasks = {name: sample_family_task("tiny", seed)
             for name, seed in (("zeta <b>x</b>", 0), ("mid", 1), ("alpha", 4))}
    results = evaluate_policies(tasks, {"random": "random", "noop": "noop", "expert": "expert"},
                                trials=2, episodes_per_task=1, seed=0, image_size=16,
                                trial_steps=8, batch_size=3)
    spec = specs.DiscreteArray(NUM_ACTIONS, np.int32, name="action")
    videos = []
    for label, t in chosen_tasks(results.scores("random"), 2):
        path = tmp_path / "videos" / f"random_{t:03d}.mp4"
        policy = make_policy("random", spec, noop_index=NOOP)
        with Mp4Writer(path, 10) as writer:
            _, returns = render_episode(results.tasks[t], policy,
                                        seed=int(results.seeds[t, 0]), image_size=16,
                                        overview_size=32, on_frame=writer.append)
        videos.append({"path": str(path.relative_to(tmp_path)), "task": results.names[t],
                       "task_index": t, "episode": 0, "returns": returns, "label": label})
    results.meta["videos"] = videos
    # the sections `ada.evaluate.run` adds when no recordings of people are given
    sections = {"human": {"note": NO_RECORDINGS},
                "timescale": {p: timescale(results.tasks, results.step_rewards[p])
                              for p in results.policies}}
    files = write_results(results, tmp_path, sections=sections)
    record = json.loads(files["json"].read_text())
    assert write_report(tmp_path, record) == tmp_path / "report.html"
    return tmp_path / "report.html", record


def test_report_is_self_contained_and_escaped(report: tuple[Path, dict[str, Any]]) -> None:
    path, record = report
    page = path.read_text()
    assert [p.name for p in path.parent.glob(".report.*")] == []  # no temporary file left
    for policy in ("random", "noop", "expert"):
        assert f"<td>{policy}</td>" in page
    assert re.search(r'<img class="plot"[^>]* src="data:image/png;base64,[A-Za-z0-9+/=]{100,}"',
                     page)
    assert "http://" not in page and "https://" not in page and "<script src" not in page
    # every resource is inline (data:) or one of the videos beside the report
    refs = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert all(r.startswith("data:") or r.startswith("videos/") for r in refs), refs
    assert "zeta &lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page
    assert "Expert-normalised scores" in page and "Paired comparisons" in page
    zero = [t["name"] for t in record["expert_zero_tasks"]]
    assert f"Tasks left out (n_excluded): {len(zero)}: {', '.join(zero)}".replace(
        "<", "&lt;").replace(">", "&gt;") in page
    assert "random &minus; noop" in page and "gain 1-&gt;2" in page
    # no recordings of people: the section says so, and no row is made up for them
    assert f"<h2>Human baselines</h2><p>{html.escape(NO_RECORDINGS)}</p>" in page
    assert "<td>human</td>" not in page and "human last trial" not in page
    timescale_table = page[page.index("Human-timescale figures"):page.index("Per task")]
    for policy in record["policies"]:
        assert f"<td>{policy}</td>" in timescale_table
    for v in record["meta"]["videos"]:
        assert f'src="{v["path"]}"' in page and f"<b>{v['label']}: </b>" in page
        assert v["returns"] == record["returns"]["random"][v["task_index"]][0]
    # numbers with three decimals; nothing undefined shows as "nan"
    text = re.sub(r'src="data:[^"]*"', "", page)
    assert ">nan<" not in text.lower() and "nan /" not in text.lower()
    assert f">{record['per_trial'][0]['mean']:.3f}<" in text


def test_report_loads_cleanly_and_sorts_in_chromium(report: tuple[Path, dict[str, Any]],
                                                    browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.wait import WebDriverWait

    from tests.browser import console_errors

    path, record = report
    console_errors(browser)  # drop what an earlier page left
    browser.get(path.as_uri())
    WebDriverWait(browser, 10).until(
        lambda d: d.execute_script("return document.readyState") == "complete")
    table = browser.find_element(By.CSS_SELECTOR, "table.sortable")
    headers = {h.text: h for h in table.find_elements(By.CSS_SELECTOR, "thead th")}

    def column(i: int) -> list[str]:
        return [row.find_elements(By.TAG_NAME, "td")[i].text
                for row in table.find_elements(By.CSS_SELECTOR, "tbody tr")]

    names = [t["name"] for t in record["tasks"]]
    assert column(1) == names
    headers["task"].click()
    assert column(1) == sorted(names)
    headers["task"].click()
    assert column(1) == sorted(names, reverse=True)
    last = {t["name"]: np.mean(record["scores"]["expert"][i], axis=0)[-1]
            for i, t in enumerate(record["tasks"])}
    before = column(1)
    headers["expert last trial"].click()  # a stable sort: ties keep the order they had
    assert column(1) == sorted(before, key=last.__getitem__)
    assert len(set(last.values())) > 1 and column(1) != before  # a real reordering
    headers["#"].click()
    headers["#"].click()
    assert column(0) == ["2", "1", "0"]
    WebDriverWait(browser, 10).until(lambda d: d.execute_script(
        "return Array.from(document.querySelectorAll('video')).every("
        "v => v.readyState >= 1 && v.error === null)"))  # found and decodable
    assert len(browser.find_elements(By.TAG_NAME, "video")) == len(record["meta"]["videos"])
    assert console_errors(browser) == []
    browser.execute_script("window.scrollTo(0, 0)")
    browser.save_screenshot(str(tmp_path / "report.png"))
    SCRATCH.mkdir(parents=True, exist_ok=True)
    shutil.copy(tmp_path / "report.png", SCRATCH / "report.png")
