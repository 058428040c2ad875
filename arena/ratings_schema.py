"""The tables of human judgements in a run's database (schema version 5).

``rating_pairs``     the blind pairs, drawn once from the run's texts (see
                     :mod:`arena.ratings_store`): ``pair_id``, ``position`` (the order every
                     rater sees), ``game``, ``prompt``, for each side the ``match`` index,
                     ``round`` and ``agent`` whose stored answer it shows, and ``repeat_of``
                     (the pair this one repeats with the sides swapped, else NULL)
``judgements``       one answer: ``rater``, ``pair_id``, ``criterion`` (``original``,
                     ``pleasant``, ``preferred``), ``choice`` (``left``, ``right``, ``tie``:
                     the sides as the pair shows them), ``source`` (``web`` or ``import``),
                     ``import_id``, ``created``; one per rater, pair and criterion
``rating_comments``  a rater's free comment on a pair
``rating_imports``   each imported file: its name, SHA-256, rows stored and time

Which agent wrote which side lives only here: the page and ``arena rate export`` show
texts and pair ids, never writers.
"""

from __future__ import annotations

CRITERIA = ("original", "pleasant", "preferred")
CHOICES = ("left", "right", "tie")

RATINGS_SCHEMA = """
CREATE TABLE IF NOT EXISTS rating_pairs (
    pair_id TEXT PRIMARY KEY, position INTEGER UNIQUE NOT NULL, game TEXT, prompt TEXT,
    left_match INTEGER NOT NULL, left_round INTEGER NOT NULL, left_agent TEXT NOT NULL,
    right_match INTEGER NOT NULL, right_round INTEGER NOT NULL, right_agent TEXT NOT NULL,
    repeat_of TEXT);
CREATE TABLE IF NOT EXISTS rating_imports (
    id INTEGER PRIMARY KEY, name TEXT, sha256 TEXT, rows INTEGER, created REAL);
CREATE TABLE IF NOT EXISTS judgements (
    id INTEGER PRIMARY KEY, rater TEXT NOT NULL, pair_id TEXT NOT NULL
    REFERENCES rating_pairs (pair_id),
    criterion TEXT NOT NULL CHECK (criterion IN ('original', 'pleasant', 'preferred')),
    choice TEXT NOT NULL CHECK (choice IN ('left', 'right', 'tie')),
    source TEXT NOT NULL, import_id INTEGER REFERENCES rating_imports (id), created REAL,
    UNIQUE (rater, pair_id, criterion));
CREATE TABLE IF NOT EXISTS rating_comments (
    rater TEXT NOT NULL, pair_id TEXT NOT NULL, comment TEXT NOT NULL, created REAL,
    PRIMARY KEY (rater, pair_id));
"""
