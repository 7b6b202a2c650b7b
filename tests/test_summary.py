"""coursekit.models.summary follows the data and counts every parameter once."""

from torch import nn

from coursekit.models import count_parameters, summary


def test_summary_rows_shapes_and_total():
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 13 * 13, 10))
    table = summary(model, (1, 28, 28))
    assert [r.kind for r in table] == ["Conv2d", "ReLU", "MaxPool2d", "Flatten", "Linear"]
    assert [r.output_shape for r in table] == [(4, 26, 26), (4, 26, 26), (4, 13, 13), (676,), (10,)]
    assert [r.parameters for r in table] == [4 * 9 + 4, 0, 0, 0, 676 * 10 + 10]
    assert table.total_parameters == count_parameters(model) == 40 + 6770
    assert "total" in str(table) and "6,810" in str(table)


def test_shared_layers_are_counted_once():
    shared = nn.Linear(3, 3)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    assert summary(model, (3,)).total_parameters == count_parameters(model) == 12


def test_trainable_only():
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
    model[0].requires_grad_(False)
    assert count_parameters(model, trainable_only=True) == 3 and count_parameters(model) == 9
