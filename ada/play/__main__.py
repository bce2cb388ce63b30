"""Play ada in a browser: `python -m ada.play player=<name> [tasks=...] [study=...]`.

Starts a local web server (127.0.0.1:8000 by default; `port=`, `host=`) and prints the URL to
open, in any browser, also through an SSH tunnel to a remote machine
(`ssh -L 8000:localhost:8000 <host>`, then open http://localhost:8000/). The page shows the
agent's first-person camera, large, the goal and the visible rules in words (hidden rules only
as hidden), the trial, the time left and the reward; the keys are listed on the page. Play
pauses before every trial until the player presses Enter.

Every episode is recorded to `<out>/<player>/` as it finishes (`ada.play.recording`); Ctrl-C
stops the server and keeps every finished episode, and running the same command again goes on
with the episodes not yet recorded. Examples:

    python -m ada.play player=alice tasks=probes trials=3
    python -m ada.play player=alice tasks=heldout family=default n_tasks=10 trials=2
    python -m ada.play player=alice study=configs/play/study_example.yaml

Config errors exit with status 2 and one line naming the field and the allowed values.
"""

from __future__ import annotations

import sys

import hydra
from hydra.utils import to_absolute_path
from omegaconf import DictConfig, OmegaConf

from ada.paths import config_dir
from ada.validation import ConfigError


def serve(cfg_dict: dict, resolve_path=to_absolute_path) -> int:  # type: ignore[no-untyped-def]
    """Validates, builds the session and serves until Ctrl-C; returns the exit status."""
    from ada.play.study import plan_for, player_dir, study_name, validate_config

    try:
        cfg = validate_config(cfg_dict)
        plan, skipped = plan_for(cfg, resolve_path)
        study = study_name(cfg, resolve_path)
    except ConfigError as e:
        print(f"ada.play: error: {e}", file=sys.stderr)
        return 2
    out = player_dir(cfg, resolve_path)
    if not plan:
        print(f"ada.play: every episode of this plan is already recorded in {out}")
        return 0
    from ada.play.server import PlayServer
    from ada.play.session import PlaySession

    session = PlaySession(plan, player=cfg.player, player_kind=cfg.player_kind,
                          view_size=cfg.view_size, study=study)
    try:
        server = PlayServer(session, host=cfg.host, port=cfg.port, pace=cfg.pace)
    except OSError as e:
        session.close()
        print(f"ada.play: error: port: cannot serve on {cfg.host}:{cfg.port} ({e.strerror}); "
              "choose another with port=<number>", file=sys.stderr)
        return 2
    print(f"ada.play: {len(plan)} episode(s) to play" +
          (f" ({skipped} already recorded)" if skipped else "") + f"; recordings go to {out}")
    print(f"ada.play: open {server.url} in a browser (Ctrl-C stops; finished episodes are kept)",
          flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
    print(f"ada.play: {len(session.written)} episode(s) recorded this time in {out}")
    return 0


@hydra.main(config_path=str(config_dir()), config_name="play", version_base="1.3")
def main(cfg: DictConfig) -> None:
    rc = serve(OmegaConf.to_container(cfg, resolve=True))  # type: ignore[arg-type]
    if rc:
        sys.exit(rc)


if __name__ == "__main__":
    main()
