"""Page crops: the reader's own cuts from synthetic pages, labelled by the page's ground truth."""

import numpy as np
import pytest

from recognizer.negatives import REJECT
from recognizer.pagecrops import candidate_label, crop_label, page_crops
from recognizer.train import epoch_data


def test_crop_label_matches_merges_and_skips():
    truth, labels = [(0, 0, 20, 40), (22, 0, 20, 40)], [3, 8]
    assert crop_label((1, 1, 19, 38), truth, labels) == 3  # one digit, slightly off
    assert crop_label((0, 0, 42, 40), truth, labels) == REJECT  # both digits in one box
    assert crop_label((0, 0, 8, 40), truth, labels) is None  # a fragment teaches nothing
    assert crop_label((500, 500, 20, 40), truth, labels) is None  # clutter


@pytest.fixture(scope="module")
def plain():
    """A shipped CNN that takes its inputs as to_mnist makes them, as a cutting model must."""
    from recognizer import Recognizer
    from recognizer.reader import MODELS_DIR

    return Recognizer.load(MODELS_DIR / "cnn_boxfill.onnx")


def test_page_crops_are_model_inputs_with_true_labels(plain, mnist):
    x, y = page_crops(plain, mnist["x_train"][:2000], mnist["y_train"][:2000], pages=4, seed=0)
    assert x.shape[1:] == (28, 28) and len(x) == len(y) >= 10  # four pages hold a dozen digits or more
    assert x.dtype == np.float32 and 0.0 <= x.min() and x.max() <= 1.0
    assert set(y.tolist()) <= set(range(11))
    predicted = plain.proba_prepared(x).argmax(axis=1)
    assert (predicted == y).mean() > 0.8  # the crops are the digits their labels say


def test_page_crops_refuse_a_cutting_model_that_makes_its_own_inputs(plain, mnist):
    import copy

    moments = copy.copy(plain)
    moments.backend = copy.copy(plain.backend)
    moments.backend.convention = ("moments",)  # as a model trained with --moments says in its metadata
    with pytest.raises(ValueError, match="moments.*plain CNN"):  # they would be normalized twice in training
        page_crops(moments, mnist["x_train"][:100], mnist["y_train"][:100], pages=1, seed=0)


def test_epoch_data_mixes_in_the_pool(mnist):
    x = mnist["x_train"][:200].astype(np.float32) / 255
    y = mnist["y_train"][:200].astype(np.int64)
    pool = (np.ones((50, 28, 28), np.float32), np.full(50, 7, np.int64))
    xe, ye = epoch_data(x, y, seed=0, cfg=None, reject_share=0.1, pool=pool, pool_share=0.2)
    assert len(xe) == 200 + 20 + 40 and (ye[-40:] == 7).all() and (xe[-40:] == 1).all()


def test_a_one_merged_into_its_neighbour_is_a_reject():
    truth, labels = [(0, 0, 6, 40), (8, 0, 22, 40)], [1, 4]  # the pair's box has IoU 0.73 with the 4's
    assert crop_label((0, 0, 30, 40), truth, labels) == REJECT


def test_a_cut_across_two_digits_is_a_reject():
    truth, labels = [(0, 0, 20, 40), (22, 0, 20, 40)], [3, 8]
    assert crop_label((12, 0, 20, 40), truth, labels) == REJECT  # the right of the 3, the left of the 8


def test_candidate_pieces_of_round_digits_are_rejects():
    truth, labels = [(0, 0, 20, 40), (22, 0, 20, 40)], [0, 4]
    assert candidate_label((0, 0, 9, 40), truth, labels) == REJECT  # the left half of the 0
    assert candidate_label((34, 0, 8, 40), truth, labels) is None  # the right of a 4 may be a fine 1
    assert candidate_label((1, 1, 19, 38), truth, labels) == 0  # what crop_label says otherwise
    assert candidate_label((0, 0, 42, 40), truth, labels) == REJECT


def test_candidate_crops_hold_the_cuts_the_reader_turned_down(plain, mnist):
    x, y = mnist["x_train"][:2000], mnist["y_train"][:2000]
    final = page_crops(plain, x, y, pages=4, seed=1, tiers=("touching",))
    every = page_crops(plain, x, y, pages=4, seed=1, tiers=("touching",), candidates=True)
    assert len(every[1]) > len(final[1])  # same pages, many more pieces
    assert (every[1] == REJECT).sum() > (final[1] == REJECT).sum()
    assert every[0].shape[1:] == (28, 28) and every[0].dtype == np.float32
