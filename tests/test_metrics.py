"""coursekit.metrics: the confusion matrix counts (true, predicted) pairs; accuracy is its trace / N."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from coursekit.metrics import accuracy, confusion_matrix


def test_confusion_matrix_by_hand():
    labels = torch.tensor([0, 0, 1, 2, 2, 2])
    preds = torch.tensor([0, 1, 1, 2, 0, 2])
    m = confusion_matrix(labels, preds, 3)
    assert m.dtype == torch.int64 and m.shape == (3, 3)
    assert m.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]  # rows: true class, columns: predicted
    assert accuracy(labels, preds) == pytest.approx(4 / 6)


def test_lists_arrays_and_absent_classes():
    m = confusion_matrix([1, 1], np.array([1, 3]), num_classes=5)
    assert m.sum() == 2 and m[1, 1] == 1 and m[1, 3] == 1 and m[0].sum() == 0 and m[4].sum() == 0
    assert confusion_matrix([], [], 2).tolist() == [[0, 0], [0, 0]]
    assert accuracy(np.array([2, 2]), [2, 2]) == 1.0


@settings(max_examples=40, deadline=None)
@given(k=st.integers(1, 6), data=st.data())
def test_rows_sum_to_class_counts_and_the_trace_is_the_correct_answers(k, data):
    n = data.draw(st.integers(1, 40))
    labels = torch.tensor(data.draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)))
    preds = torch.tensor(data.draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)))
    m = confusion_matrix(labels, preds, k)
    assert m.sum() == n
    assert torch.equal(m.sum(1), torch.bincount(labels, minlength=k))
    assert torch.equal(m.sum(0), torch.bincount(preds, minlength=k))
    assert m.trace().item() / n == pytest.approx(accuracy(labels, preds))


def test_it_matches_predict_on_a_loader():
    from torch import nn

    from coursekit.train import evaluate, predict

    torch.manual_seed(0)
    model = nn.Linear(4, 3)
    batches = [(torch.randn(8, 4), torch.randint(0, 3, (8,))) for _ in range(3)]
    preds, labels = predict(model, batches, "cpu")
    m = confusion_matrix(labels, preds, 3)
    assert m.trace().item() / 24 == pytest.approx(evaluate(model, batches, "cpu")[1])
