"""The shared online predictors: distributions, learning, streams, bounded work."""

from __future__ import annotations

import numpy as np
import pytest

from envs.predictors import Frequency, HistoryMatch, Markov, Mixture, ShorterMatch, uniform

ALL = [
    lambda n: Frequency(n),
    lambda n: Frequency(n, window=5),
    lambda n: Frequency(n, decay=0.9),
    lambda n: Markov(n, max_order=3),
    lambda n: Markov(n, max_order=2, decay=0.95),
    lambda n: HistoryMatch(n, max_length=8),
    lambda n: Mixture([Frequency(n), Markov(n), HistoryMatch(n)]),
]


@pytest.mark.parametrize("make", ALL)
@pytest.mark.parametrize("n", [2, 3, 11, 100])
def test_predictions_are_distributions(make, n):
    p = make(n)
    np.testing.assert_allclose(p.predict(), uniform(n))
    rng = np.random.default_rng(n)
    for s in rng.integers(0, n, 300):
        p.update(int(s))
        q = p.predict()
        assert q.shape == (n,) and (q >= 0).all()
        assert q.sum() == pytest.approx(1.0)


@pytest.mark.parametrize("make", ALL)
def test_rejects_symbols_out_of_range(make):
    p = make(3)
    with pytest.raises(ValueError):
        p.update(3)
    with pytest.raises(ValueError):
        p.update(-1)


def test_frequency_window_forgets_and_decay_favours_recent():
    w = Frequency(3, window=4, prior=0.0)
    for s in [0] * 10 + [2] * 4:
        w.update(s)
    assert w.predict()[2] == pytest.approx(1.0)
    d = Frequency(3, decay=0.5, prior=0.0)
    for s in [0] * 10 + [1]:
        d.update(s)
    full = Frequency(3, prior=0.0)
    for s in [0] * 10 + [1]:
        full.update(s)
    assert d.predict()[1] > 0.45 > full.predict()[1]
    with pytest.raises(ValueError):
        Frequency(3, window=3, decay=0.5)


def test_markov_learns_a_cycle_and_backs_off():
    m = Markov(3, max_order=2)
    for s in [0, 1, 2] * 10:
        m.update(s)
    assert int(np.argmax(m.predict())) == 0
    assert m.predict()[0] > 0.8
    # an unseen order-2 context backs off to order 1: after (2, 2) only "2 ->" is known
    m.update(2)
    assert int(np.argmax(m.predict())) == 0


def test_markov_on_a_context_stream():
    # the target is the opponent, the context our own moves: opponent copies us one step late
    m = Markov(3, max_order=1, n_context=3)
    rng = np.random.default_rng(0)
    own_prev = 0
    for own in rng.integers(0, 3, 200):
        m.update(own_prev, context=int(own))
        own_prev = int(own)
    assert int(np.argmax(m.predict())) == own_prev


def test_markov_decay_tracks_a_change():
    fast, slow = Markov(2, max_order=1, decay=0.8), Markov(2, max_order=1)
    for s in [0, 0] * 50 + [0, 1] * 5 + [0]:
        fast.update(s)
        slow.update(s)
    # after a 0 the old regime said 0, the last ten steps said 1
    assert fast.predict()[1] > 0.5 > slow.predict()[1]


def test_history_match_finds_the_longest_earlier_suffix():
    h = HistoryMatch(3, max_length=10)
    seq = [0, 1, 2, 2, 1, 0, 0, 1, 2, 2, 1]
    for s in seq:
        h.update(s)
    # suffix 0 1 2 2 1 occurred at steps 0..4 and was followed by 0 (step 5)
    assert h.match_length == 5
    assert h.match_step == 5
    assert int(np.argmax(h.predict())) == 0
    h.update(2)  # "... 2 1 2" never seen before; longest match is "1 2" -> followed by 2
    assert h.match_length == 2 and h.symbols[h.match_step] == 2


def test_history_match_is_bounded_and_learns_a_period():
    h = HistoryMatch(3, max_length=6)
    rng = np.random.default_rng(1)
    period = [int(x) for x in rng.integers(0, 3, 40)]
    hits = 0
    for t, s in enumerate(period * 5):
        if t >= 80:
            hits += int(np.argmax(h.predict())) == s
        h.update(s)
    assert hits == 120
    assert h.match_length == 6


def test_history_match_context_stream_reports_the_step():
    # predict the opponent (target) from our own moves (context): the opponent plays our move + 1
    h = HistoryMatch(3, max_length=4, n_context=3)
    rng = np.random.default_rng(2)
    own = [int(x) for x in rng.integers(0, 3, 400)]
    for t in range(1, len(own)):
        h.update((own[t - 1] + 1) % 3, context=own[t])
    assert int(np.argmax(h.predict())) == (own[-1] + 1) % 3
    assert 0 <= h.match_step < len(h.symbols)


@pytest.mark.parametrize("short", [1, 3, 5])
def test_shorter_view_predicts_as_a_capped_matcher(short):
    # a low-entropy stream so that long and short matches disagree often
    rng = np.random.default_rng(short)
    stream = [int(x) for x in rng.choice(3, 600, p=[0.6, 0.3, 0.1])]
    ctx = [int(x) for x in rng.integers(0, 2, 600)]
    long, alone = HistoryMatch(3, max_length=12, n_context=2), HistoryMatch(3, max_length=short,
                                                                             n_context=2)
    view = long.shorter(short)
    assert isinstance(view, ShorterMatch)
    disagreements = 0
    for s, c in zip(stream, ctx, strict=True):
        for p in (long, alone, view):
            p.update(s, c)
        np.testing.assert_array_equal(view.predict(), alone.predict())
        disagreements += not np.array_equal(view.predict(), long.predict())
    assert disagreements > 10
    with pytest.raises(ValueError):
        long.shorter(13)


def test_mixture_moves_weight_to_the_right_expert():
    mix = Mixture([Frequency(3), Markov(3, max_order=1)], decay=1.0)
    for s in [0, 1, 2] * 30:
        mix.update(s)
    assert mix.weights()[1] > 0.99
    assert int(np.argmax(mix.predict())) == 0


def test_work_per_update_does_not_grow_with_history():
    # the index answers from dictionaries: the table sizes stay bounded by max_length per step
    h = HistoryMatch(3, max_length=8)
    rng = np.random.default_rng(3)
    for s in rng.integers(0, 3, 5000):
        h.update(int(s))
    assert len(h._keys.keys) == 8
    # one entry per distinct context of each length: keys that grew with the history
    # (or mixed up lengths) would overflow these counts
    sizes = [len(table) for table in h._follow]
    assert sizes[:4] == [3, 9, 27, 81] and all(s <= 3 ** (j + 1) for j, s in enumerate(sizes))
    m = Markov(3, max_order=3)
    for s in rng.integers(0, 3, 5000):
        m.update(int(s))
    assert len(m._tables[2]) <= 27
