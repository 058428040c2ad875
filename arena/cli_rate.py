"""``arena rate serve|export|import``: people judge the texts of a run.

* ``serve RUN_DIR [--port P] [--host H]`` starts the rating page (:mod:`arena.rate_web`)
  on 127.0.0.1; another ``--host`` prints a warning. The printed address carries a token
  that every request must show.
* ``export RUN_DIR --out pairs.csv`` writes the blind pairs (``pair_id, prompt,
  left_text, right_text``) for a survey tool or paper forms; the writers stay in the
  run's database.
* ``import RUN_DIR ratings.csv`` reads ``rater, pair_id, criterion, choice`` rows
  (``original``/``pleasant``/``preferred``; ``left``/``right``/``tie``). A bad file is
  one line naming the row and the problem, and nothing of it is stored; rows already in
  the database (the same file again) are not counted twice.
"""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from arena.errors import ArenaError

rate_app = typer.Typer(help="People judge the texts of a run: a rating page, or CSV files.",
                       no_args_is_help=True)
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
EXPORT_COLUMNS = ("pair_id", "prompt", "left_text", "right_text")
IMPORT_COLUMNS = ("rater", "pair_id", "criterion", "choice")


def _open_pairs(directory: str) -> Any:
    """The run's store, writable, with its pairs drawn; an error when it has no texts."""
    from arena.ratings_store import ensure_pairs
    from arena.store import Store

    store = Store.open(directory, write=True)
    try:
        config = store.run_info()["config"]
        count = ensure_pairs(store.conn, seed=int(config.get("seed") or 0), config=config)
    except BaseException:
        store.close()
        raise
    if count == 0:
        store.close()
        raise ArenaError(f"{directory}: no texts to judge (a creative-writing game with at "
                         "least two writers answering the same prompt)")
    return store


@rate_app.command("serve")
def serve(
    directory: Annotated[str, typer.Argument(help="Run directory.")],
    port: Annotated[int, typer.Option("--port", min=0, max=65535,
                                      help="Port (0: any free one).")] = 8765,
    host: Annotated[str, typer.Option("--host", help="Address to listen on; anything but "
                                      "127.0.0.1 lets other machines reach the page.")
                    ] = "127.0.0.1",
) -> None:
    """Start the rating page: blind pairs, three questions, every answer stored at once."""
    import socket

    import uvicorn

    from arena.rate_web import make_app

    store = _open_pairs(directory)
    try:
        app, token = make_app(store.conn)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            sock.close()
            raise ArenaError(f"--host {host} --port {port}: cannot listen there: "
                             f"{exc.strerror or exc}") from None
        sock.listen(128)  # connections wait in the backlog from the moment the URL shows
        bound = sock.getsockname()[1]
        if host not in LOCAL_HOSTS:
            print(f"arena: warning: listening on {host}: anyone on the network who has the "
                  "address with its token can rate; use the default 127.0.0.1 to keep it "
                  "on this machine", file=sys.stderr, flush=True)
        shown = f"[{host}]" if ":" in host else host
        print(f"rate the texts of {directory} at http://{shown}:{bound}/?token={token}",
              flush=True)
        print("stop with Ctrl-C; every answer is already saved", flush=True)
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        store.close()


@rate_app.command("export")
def export(
    directory: Annotated[str, typer.Argument(help="Run directory.")],
    out: Annotated[str | None, typer.Option(
        "--out", help="CSV file to write (default: standard output).")] = None,
) -> None:
    """Write the blind pairs as CSV: pair_id, prompt, left_text, right_text."""
    from arena.ratings_store import pairs
    from arena.store_files import refuse_run_file
    from leaderboards.csv_safe import safe_row

    if out is not None:
        refuse_run_file(out, directory)
    store = _open_pairs(directory)
    try:
        rows = pairs(store.conn)
    finally:
        store.close()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    for p in rows:
        writer.writerow(safe_row([p.pair_id, p.prompt, p.left_text, p.right_text]))
    if out is None:
        sys.stdout.write(buffer.getvalue())
        return
    try:
        Path(out).write_text(buffer.getvalue(), encoding="utf-8")
    except OSError as exc:
        raise ArenaError(f"cannot write {out}: {exc.strerror or exc}") from None
    print(f"{len(rows)} pairs written to {out}", file=sys.stderr)


def read_ratings(path: str) -> tuple[list[dict[str, Any]], bytes]:
    """The rows of a ratings CSV, checked (one clear error naming the row), and its bytes."""
    from arena.ratings_schema import CHOICES, CRITERIA
    from arena.ratings_store import MAX_RATER_CHARS

    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ArenaError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ArenaError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise ArenaError(f"{path}: empty file; expected the columns "
                         f"{', '.join(IMPORT_COLUMNS)}") from None
    except csv.Error as exc:
        raise ArenaError(f"{path}: row 1: {exc}") from None
    missing = [c for c in IMPORT_COLUMNS if c not in header]
    if missing:
        raise ArenaError(f"{path}: row 1: the header lacks {', '.join(missing)} (expected "
                         f"{', '.join(IMPORT_COLUMNS)})")
    at = {c: header.index(c) for c in IMPORT_COLUMNS}
    rows: list[dict[str, Any]] = []
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise ArenaError(f"{path}: row {reader.line_num}: {exc}") from None
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if len(cells) < len(header):
            raise ArenaError(f"{path}: row {line}: {len(cells)} cells, the header has "
                             f"{len(header)}")
        row = {c: cells[at[c]].strip() for c in IMPORT_COLUMNS}
        row["rater"] = " ".join(row["rater"].split())
        row["criterion"], row["choice"] = row["criterion"].lower(), row["choice"].lower()
        if not row["rater"] or len(row["rater"]) > MAX_RATER_CHARS:
            raise ArenaError(f"{path}: row {line}: rater must be 1 to {MAX_RATER_CHARS} "
                             "characters")
        if not row["pair_id"]:
            raise ArenaError(f"{path}: row {line}: pair_id is empty")
        if row["criterion"] not in CRITERIA:
            raise ArenaError(f"{path}: row {line}: criterion {row['criterion']!r} is not one "
                             f"of {', '.join(CRITERIA)}")
        if row["choice"] not in CHOICES:
            raise ArenaError(f"{path}: row {line}: choice {row['choice']!r} is not one of "
                             f"{', '.join(CHOICES)}")
        rows.append({**row, "line": line})
    if not rows:
        raise ArenaError(f"{path}: no ratings in it")
    return rows, data


@rate_app.command("import")
def import_(
    directory: Annotated[str, typer.Argument(help="Run directory.")],
    ratings: Annotated[str, typer.Argument(help="CSV with rater, pair_id, criterion, choice.")],
) -> None:
    """Store ratings collected elsewhere (all of the file, or nothing when it has a fault)."""
    from arena.ratings_store import digest, import_rows

    rows, data = read_ratings(ratings)
    store = _open_pairs(directory)
    try:
        stored, known = import_rows(store.conn, rows, name=ratings, digest=digest(data))
    finally:
        store.close()
    note = f"; {known} already in the run, not counted again" if known else ""
    print(f"{stored} ratings stored from {ratings}{note}")


def register(app: typer.Typer) -> None:
    """Add ``rate serve|export|import`` to ``app``."""
    app.add_typer(rate_app, name="rate")
