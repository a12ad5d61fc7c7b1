import numpy as np

from recognizer.augment import AugmentConfig, augment_batch
from recognizer.preprocess import batch_to_mnist


def test_augmentation_is_reproducible_and_changes_digits(mnist):
    x = batch_to_mnist(mnist["x_train"][:32])
    a, b = augment_batch(x, seed=3), augment_batch(x, seed=3)
    assert np.array_equal(a, b)
    assert a.shape == x.shape and a.dtype == np.float32
    assert not np.allclose(a, x)
    assert np.abs(a - x).mean() < 0.2  # distorted, not destroyed
    assert (a.reshape(32, -1).max(axis=1) > 0.3).all()  # no digit erased


def test_no_augmentation_is_identity(mnist):
    x = batch_to_mnist(mnist["x_train"][:8])
    assert np.allclose(augment_batch(x, 0, AugmentConfig.none()), x)


def test_slashed_zeros_and_flagged_ones_stay_digits_with_more_ink(mnist):
    from recognizer.augment import add_styles

    x = batch_to_mnist(mnist["x_train"][:300])
    y = mnist["y_train"][:300]
    styled = add_styles(x, y, 0, AugmentConfig(slash_zero_prob=1.0, flag_one_prob=1.0))
    changed = np.flatnonzero(np.abs(styled - x).max(axis=(1, 2)) > 0.1)
    assert set(y[changed]) == {0, 1}  # only 0s and 1s are restyled
    assert len(changed) >= 0.9 * np.isin(y, (0, 1)).sum()
    for i in changed:  # still MNIST-framed: the ink fills the 20 px box, with added strokes
        ys, xs = np.nonzero(styled[i] > 0.12)
        assert max(np.ptp(ys), np.ptp(xs)) in range(18, 22)
    ones = changed[y[changed] == 1]
    left = np.arange(28) < 14
    assert (styled[ones][:, :10, left].sum() > x[ones][:, :10, left].sum())  # the flag points left


def test_long_flags_and_feet_widen_the_ones(mnist):
    from recognizer.augment import flag_one

    ones = batch_to_mnist(mnist["x_train"][:600])[mnist["y_train"][:600] == 1]

    def widths(longest: float, foot: float) -> np.ndarray:
        rng = np.random.default_rng(0)
        styled = [flag_one(d, rng, longest, foot) for d in ones]
        return np.array([np.ptp(np.nonzero(s.max(axis=0) > 0.12)[0]) for s in styled])

    plain = np.array([np.ptp(np.nonzero(d.max(axis=0) > 0.12)[0]) for d in ones])
    short, long_, footed = widths(0.6, 0.0), widths(0.9, 0.0), widths(0.9, 1.0)
    assert plain.mean() < short.mean() < long_.mean() < footed.mean()
    footed_ones = np.stack([flag_one(d, np.random.default_rng(1), 0.9, 1.0) for d in ones])

    def base_width(images: np.ndarray) -> float:  # inked columns in the lowest rows of the box
        return float((images[:, 20:24].max(axis=1) > 0.5).sum(axis=1).mean())

    assert base_width(footed_ones) > base_width(ones)


def test_curled_nines_reach_left_at_the_bottom(mnist):
    from recognizer.augment import curl_nine

    nines = batch_to_mnist(mnist["x_train"][:600])[mnist["y_train"][:600] == 9]
    curled = np.stack([curl_nine(d, np.random.default_rng(i)) for i, d in enumerate(nines)])
    low_left = (slice(None), slice(18, 25), slice(0, 12))
    assert curled[low_left].sum() > 1.5 * nines[low_left].sum()
    assert (curled.reshape(len(curled), -1).max(axis=1) > 0.5).all()


def test_barless_fives_lose_the_top_right_and_keep_the_rest(mnist):
    from recognizer.augment import bar_off_five

    fives = batch_to_mnist(mnist["x_train"][:600])[mnist["y_train"][:600] == 5]
    barless = np.stack([bar_off_five(d, np.random.default_rng(i)) for i, d in enumerate(fives)])
    changed = np.abs(barless - fives).reshape(len(fives), -1).max(axis=1) > 0.1
    assert changed.mean() > 0.8  # a few 5s drawn mostly as their bar are left whole
    def top_right(batch):  # ink in the top rows right of the middle, relative to all ink
        return batch[:, 4:9, 14:].sum(axis=(1, 2)) / batch.sum(axis=(1, 2))
    assert top_right(barless[changed]).mean() < 0.5 * top_right(fives[changed]).mean()
    assert (barless.reshape(len(barless), -1).max(axis=1) > 0.5).all()  # still framed, still inked


def test_reject_pairs_can_be_made_with_a_one(mnist):
    from recognizer.negatives import make_negatives, pair_indices

    labels = mnist["y_train"][:500]
    ones = np.flatnonzero(labels == 1)
    rng = np.random.default_rng(0)
    picks = [pair_indices(500, ones, 1.0, rng) for _ in range(200)]
    assert all(np.isin(p, ones).any() for p in picks)
    sides = np.array([np.isin(p, ones) for p in picks])
    assert 0.3 < sides[:, 0].mean() < 0.7  # the 1 on either side
    x = batch_to_mnist(mnist["x_train"][:500])
    plain = make_negatives(x, labels, 50, np.random.default_rng(3))
    assert np.array_equal(plain, make_negatives(x, labels, 50, np.random.default_rng(3), 0.0))
    assert not np.array_equal(plain, make_negatives(x, labels, 50, np.random.default_rng(3), 1.0))


def test_negatives_are_framed_and_reproducible(mnist):
    from recognizer.negatives import make_negatives

    x = batch_to_mnist(mnist["x_train"][:200])
    y = mnist["y_train"][:200]
    a = make_negatives(x, y, 60, np.random.default_rng(5))
    b = make_negatives(x, y, 60, np.random.default_rng(5))
    assert np.array_equal(a, b) and a.shape == (60, 28, 28)
    assert (a.reshape(60, -1).max(axis=1) > 0.3).all()
    widths = [np.ptp(np.nonzero(im.max(axis=0) > 0.12)[0]) for im in a]
    assert np.median(widths) >= 15  # mostly wide: pairs squeezed into the 20 px box


def test_doodles_are_framed_reproducible_and_leave_the_cuts_as_they_were(mnist):
    from recognizer.negatives import make_negatives, scribble

    rng = np.random.default_rng(0)
    doodles = np.stack([scribble(rng) for _ in range(30)])
    assert doodles.shape == (30, 28, 28) and (doodles.reshape(30, -1).max(axis=1) > 0.5).all()
    assert np.array_equal(doodles[0], scribble(np.random.default_rng(0)))
    x = batch_to_mnist(mnist["x_train"][:200])
    y = mnist["y_train"][:200]
    before = make_negatives(x, y, 60, np.random.default_rng(5))
    assert np.array_equal(before, make_negatives(x, y, 60, np.random.default_rng(5), scribbles=0.0))
    mixed = make_negatives(x, y, 60, np.random.default_rng(5), scribbles=0.5)
    assert np.array_equal(mixed, make_negatives(x, y, 60, np.random.default_rng(5), scribbles=0.5))
    assert not np.array_equal(before, mixed)


def test_box_fill_widens_narrow_digits_to_at_most_square(mnist):
    from recognizer.augment import FILL_MAX_STRETCH, fill_box
    from recognizer.preprocess import crop_to_ink

    x = batch_to_mnist(mnist["x_train"][:60])
    rng = np.random.default_rng(0)

    def aspect(im):
        h, w = crop_to_ink(im).shape
        return w / h

    before = np.array([aspect(im) for im in x])
    after = np.array([aspect(fill_box(im, rng)) for im in x])
    assert np.median(after) > np.median(before) + 0.15  # wider, as a scan stretched to its box
    narrow = before < 1.0  # a digit already wider than tall is left as it is
    assert (after[narrow] <= 1.1).all() and (after <= before * FILL_MAX_STRETCH + 0.15).all()
    assert (after >= before - 0.05).all()  # never narrower


def test_neighbour_edge_keeps_the_digit_and_adds_a_little_ink_at_one_side(mnist):
    from recognizer.augment import add_neighbours, with_neighbour

    x = batch_to_mnist(mnist["x_train"][:200])
    rng = np.random.default_rng(1)
    changed = 0
    for i in range(100):
        out = with_neighbour(x[i], x[100 + i], rng)
        assert out.shape == (28, 28) and out.dtype == np.float32
        if np.allclose(out, x[i]):
            continue
        changed += 1
        ys, xs = np.nonzero(out > 0.12)
        assert max(np.ptp(ys), np.ptp(xs)) in range(18, 22)  # still framed like MNIST
    assert changed >= 60  # most pairs allow a cut within the shares
    styled = add_neighbours(x, 0, AugmentConfig(neighbour_prob=0.5))
    share = np.mean([not np.allclose(a, b) for a, b in zip(styled, x, strict=True)])
    assert 0.25 < share < 0.55
    assert np.array_equal(styled, add_neighbours(x, 0, AugmentConfig(neighbour_prob=0.5)))
    assert add_neighbours(x, 0, AugmentConfig(neighbour_prob=0.0)) is x  # off: the same array


def test_upright_slashes_cross_the_zero_top_to_bottom(mnist):
    from recognizer.augment import slash_zero

    x = batch_to_mnist(mnist["x_train"][:400])
    zeros = x[mnist["y_train"][:400] == 0]
    upright = np.stack([slash_zero(d, np.random.default_rng(i), upright=1.0) for i, d in enumerate(zeros)])
    # a phi-like 0: the stroke adds ink down the middle columns, through the oval's hole
    middle = np.abs(np.arange(28) - 14) <= 3
    assert upright[:, 12:16, middle].sum() > 1.5 * zeros[:, 12:16, middle].sum()
    for d in upright:  # still MNIST-framed, now taller than wide
        ys, xs = np.nonzero(d > 0.12)
        assert np.ptp(ys) in range(18, 22) and np.ptp(xs) < np.ptp(ys)


def test_level_slashes_cross_the_zero_side_to_side(mnist):
    from recognizer.augment import slash_zero

    x = batch_to_mnist(mnist["x_train"][:400])
    zeros = x[mnist["y_train"][:400] == 0]
    level = np.stack([slash_zero(d, np.random.default_rng(i), level=1.0) for i, d in enumerate(zeros)])
    # a theta-like 0: ink across the middle rows, inside the oval's hole and beside it
    assert level[:, 12:16, 9:19].sum() > 1.5 * zeros[:, 12:16, 9:19].sum()
    for d in level:  # still MNIST-framed, now wider than before
        ys, xs = np.nonzero(d > 0.12)
        assert max(np.ptp(ys), np.ptp(xs)) in range(18, 22)
    assert np.mean([np.ptp(np.nonzero(d > 0.12)[1]) for d in level]) > np.mean(
        [np.ptp(np.nonzero(d > 0.12)[1]) for d in zeros])
