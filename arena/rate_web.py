"""The rating page of ``arena rate serve``: a small Starlette app, server-rendered HTML.

A rater gives a name, then sees one blind pair at a time (the prompt, two texts, no
writers) and answers three questions, left, tie or right each: which text is more
original, which is more pleasant, which they prefer overall. Saving stores the three
answers in one transaction and shows the next pair the rater has not answered, so a
rater can stop at any time and come back under the same name. The order of the pairs is
the same for every rater (more pairs judged by several raters, for the agreement), and a
few pairs come back later with the sides swapped (see :mod:`arena.ratings_store`).

Keyboard: the rater's name field has the focus; then Tab moves between the questions,
the arrow keys choose within one (left, tie, right), Enter saves. Nothing needs a mouse,
and the page has no scripts.

Safety: every request must carry the run's token (``?token=``, printed with the URL);
every text (prompt, answers, rater name, messages) is escaped; the page loads nothing
and says so in its Content-Security-Policy; posted answers are only ever one of the
known choices. Two tabs or two raters at once lose nothing: each save is its own
transaction, and a pair answered already in another tab keeps its first answers (the
page says so).
"""

from __future__ import annotations

import html
import secrets
import threading
from typing import Any
from urllib.parse import urlencode

from arena.errors import ArenaError
from arena.ratings_schema import CRITERIA
from arena.ratings_store import Pair, check_rater, next_pair, pair, save_answer

QUESTIONS = {"original": "Which text is more original?",
             "pleasant": "Which text is more pleasant to read?",
             "preferred": "Which do you prefer overall?"}
OPTIONS = (("left", "Left"), ("tie", "Tie"), ("right", "Right"))
CSP = ("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
       "base-uri 'none'; frame-ancestors 'none'")
STYLE = """
body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;
max-width:1100px;padding:10px 18px 40px;color:#222}
.bar{display:flex;justify-content:space-between;color:#555;font-size:14px}
progress{width:100%;height:10px}.prompt{background:#f0f3f8;padding:8px 12px;
border-left:4px solid #3b6ea8}.texts{display:flex;gap:16px;margin:14px 0}
.texts section{flex:1;border:1px solid #d6d6d6;border-radius:6px;padding:8px 12px}
.texts h2{font-size:15px;margin:0 0 6px;color:#3b6ea8}
.text{white-space:pre-wrap;overflow-wrap:anywhere}fieldset{border:1px solid #d6d6d6;
border-radius:6px;margin:8px 0;padding:6px 12px}legend{font-weight:600}
label{margin-right:22px;cursor:pointer}input[type=radio]:focus-visible{outline:3px solid
#e08a2c}.note{color:#555;font-size:14px}.warn{color:#a04000}textarea{width:100%}
button{font-size:16px;padding:6px 18px}
"""


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def page(title: str, body: str) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(title)}</title><style>{STYLE}</style></head><body>"
            f"{body}</body></html>\n")


def name_page(token: str, *, message: str = "") -> str:
    warn = f'<p class="warn">{esc(message)}</p>' if message else ""
    return page("Judge texts", f"""<h1>Judge texts</h1>
<p>You will see pairs of short texts written for the same prompt, by writers you are not
told. For each pair, say which text is more original, which is more pleasant, and which
you prefer overall (or that they tie). You can stop at any time and come back under the
same name.</p>{warn}
<form method="get" action="/rate"><input type="hidden" name="token" value="{esc(token)}">
<label for="rater">Your name</label>
<input id="rater" name="rater" maxlength="60" required autofocus autocomplete="off">
<button type="submit">Start</button></form>""")


def pair_page(token: str, rater: str, p: Pair, done: int, total: int, *,
              message: str = "", chosen: dict[str, str] | None = None) -> str:
    chosen = chosen or {}
    warn = f'<p class="warn" role="status">{esc(message)}</p>' if message else ""
    questions = []
    for i, criterion in enumerate(CRITERIA):
        options = "".join(
            f'<label><input type="radio" name="{criterion}" value="{value}" '
            f'id="{criterion}-{value}"{" checked" if chosen.get(criterion) == value else ""}'
            f'{" autofocus" if i == 0 and value == "left" else ""}> {label}</label>'
            for value, label in OPTIONS)
        questions.append(f"<fieldset><legend>{esc(QUESTIONS[criterion])}</legend>"
                         f"{options}</fieldset>")
    return page(f"Pair {done + 1} of {total}", f"""
<div class="bar"><span>Rating as <b id="who">{esc(rater)}</b></span>
<span id="progress">{done} of {total} pairs judged</span></div>
<progress value="{done}" max="{total}"></progress>{warn}
<p class="prompt"><b>Prompt:</b> <span id="prompt">{esc(p.prompt)}</span></p>
<div class="texts">
<section><h2>Left</h2><div class="text" id="left">{esc(p.left_text)}</div></section>
<section><h2>Right</h2><div class="text" id="right">{esc(p.right_text)}</div></section>
</div>
<form method="post" action="/answer?{esc(urlencode({'token': token}))}">
<input type="hidden" name="rater" value="{esc(rater)}">
<input type="hidden" name="pair_id" value="{esc(p.pair_id)}">
{''.join(questions)}
<label for="comment" class="note">Comment (optional)</label>
<textarea id="comment" name="comment" rows="2" maxlength="2000"></textarea>
<p><button type="submit" id="save">Save and show the next pair</button>
<span class="note">Keyboard: Tab moves to the next question, ← → choose, Enter saves.
Pair {esc(p.pair_id)}.</span></p></form>""")


def done_page(rater: str, total: int) -> str:
    return page("Thank you", f"""<h1>Thank you</h1><p id="progress">{total} of {total}
pairs judged. <b id="who">{esc(rater)}</b>, you have judged every pair.</p>""")


def make_app(conn: Any, *, token: str | None = None) -> tuple[Any, str]:
    """The Starlette app over an open run connection (pairs drawn) and its token."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
    from starlette.routing import Route

    token = token or secrets.token_urlsafe(18)
    lock = threading.Lock()  # one connection: one transaction at a time

    def secure(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = CSP
        response.headers["Referrer-Policy"] = "no-referrer"  # the token is in the URL
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    def allowed(request: Request) -> bool:
        given = request.query_params.get("token", "")
        return secrets.compare_digest(given.encode(), token.encode())

    def denied() -> Response:
        return secure(PlainTextResponse("forbidden: open the address printed by "
                                        "`arena rate serve`, with its token", 403))

    def show(rater: str, *, message: str = "", status: int = 200,
             chosen: dict[str, str] | None = None, at: Pair | None = None) -> Response:
        with lock:
            nxt, done, total = next_pair(conn, rater)
        if at is not None:
            nxt = at
        if nxt is None:
            return secure(HTMLResponse(done_page(rater, total), status))
        return secure(HTMLResponse(pair_page(token, rater, nxt, done, total, message=message,
                                             chosen=chosen), status))

    def home(request: Request) -> Response:
        if not allowed(request):
            return denied()
        return secure(HTMLResponse(name_page(token)))

    def rate(request: Request) -> Response:
        if not allowed(request):
            return denied()
        try:
            rater = check_rater(request.query_params.get("rater", ""))
        except ArenaError as exc:
            return secure(HTMLResponse(name_page(token, message=str(exc)), 400))
        notes = {"kept": "That pair was answered already (in another tab?): the first "
                         "answers were kept."}
        return show(rater, message=notes.get(request.query_params.get("note", ""), ""))

    async def answer(request: Request) -> Response:
        if not allowed(request):
            return denied()
        form = await request.form()
        try:
            rater = check_rater(str(form.get("rater", "")))
        except ArenaError as exc:
            return secure(HTMLResponse(name_page(token, message=str(exc)), 400))
        pair_id = str(form.get("pair_id", ""))
        choices = {c: str(form.get(c, "")) for c in CRITERIA}
        with lock:
            shown = pair(conn, pair_id)
        if shown is None:
            return show(rater, message="That pair is not in this run.", status=400)
        missing = [c for c in CRITERIA if choices[c] not in ("left", "right", "tie")]
        if missing:
            return show(rater, status=400, at=shown, chosen=choices,
                        message="Answer all three questions: " + ", ".join(
                            QUESTIONS[c] for c in missing))
        with lock:
            stored = save_answer(conn, rater=rater, pair_id=pair_id, choices=choices,
                                 comment=str(form.get("comment", "")))
        query = {"token": token, "rater": rater, **({} if stored else {"note": "kept"})}
        return secure(RedirectResponse(f"/rate?{urlencode(query)}", status_code=303))

    app = Starlette(routes=[Route("/", home), Route("/rate", rate),
                            Route("/answer", answer, methods=["POST"])])
    return app, token
