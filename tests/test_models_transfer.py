"""coursekit.models.transfer: a new head, a frozen backbone, frozen BatchNorm statistics, two groups.

Small networks only (a depth-8 ResNet with 4 channels, a two-layer toy): nothing is trained beyond a
single optimizer step.
"""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from coursekit.models import ResNet, count_parameters, transfer
from coursekit.models.transfer import backbone_and_head, freeze_backbone, keep_frozen_bn, replace_head


def small_resnet(num_classes: int = 5) -> ResNet:
    torch.manual_seed(0)
    return ResNet.small(depth=8, width=4, num_classes=num_classes)


class Toy(nn.Module):
    """conv -> BN (affine or not) -> pool -> fc, the smallest network with a backbone and a head."""

    def __init__(self, affine: bool = True):
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 3)
        self.bn = nn.BatchNorm2d(3, affine=affine)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(3, 2)

    def forward(self, x):
        return self.fc(self.pool(self.bn(self.conv(x))).flatten(1))


def test_the_helpers_are_importable_from_all_three_places():
    import coursekit.models as models
    from coursekit.models import imagenet

    for name in ("replace_head", "freeze_backbone", "keep_frozen_bn", "backbone_and_head"):
        assert getattr(models, name) is getattr(transfer, name) is getattr(imagenet, name), name
        assert models._WHERE[name] == "transfer"


def test_replace_head_puts_a_fresh_linear_layer_of_the_right_size():
    model = small_resnet()
    old = model.fc
    head = replace_head(model, 3)
    assert model.fc is head and head is not old
    assert (head.in_features, head.out_features) == (old.in_features, 3) == (16, 3)
    assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 3)
    assert head.weight.dtype == old.weight.dtype and head.weight.device == old.weight.device


def test_replace_head_keeps_the_dtype_of_the_old_head():
    model = Toy().double()
    replace_head(model, 4)
    assert model.fc.weight.dtype == torch.float64
    assert model(torch.zeros(1, 1, 5, 5, dtype=torch.float64)).shape == (1, 4)


def test_freeze_backbone_leaves_only_the_head_trainable():
    model = small_resnet()
    replace_head(model, 3)
    assert freeze_backbone(model) == 16 * 3 + 3
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"fc.weight", "fc.bias"}
    assert count_parameters(model, trainable_only=True) == 51
    assert freeze_backbone(model) == 51  # a second call changes nothing


def test_keep_frozen_bn_keeps_running_statistics_of_frozen_layers():
    model = small_resnet()
    freeze_backbone(model)
    keep_frozen_bn(model).train()
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert bns and not any(m.training for m in bns) and model.training and model.fc.training
    before = [m.running_mean.clone() for m in bns]
    model(torch.randn(4, 1, 28, 28))
    assert all(torch.equal(m.running_mean, b) for m, b in zip(bns, before, strict=True))
    model.eval()
    assert not model.training
    model.train()
    assert not any(m.training for m in bns)


def test_keep_frozen_bn_leaves_trainable_batch_norm_in_training_mode():
    model = small_resnet()  # fine-tuning: nothing frozen
    keep_frozen_bn(model).train()
    assert all(m.training for m in model.modules() if isinstance(m, nn.BatchNorm2d))


def test_keep_frozen_bn_survives_a_deep_copy_and_a_second_call():
    model = small_resnet()
    freeze_backbone(model)
    keep_frozen_bn(keep_frozen_bn(model))
    clone = copy.deepcopy(model)
    clone.train()
    assert not any(m.training for m in clone.modules() if isinstance(m, nn.BatchNorm2d))
    model.eval()
    clone.train()  # the copy's train() acts on the copy only
    assert not model.training and clone.training


@pytest.mark.parametrize("frozen", [True, False])
def test_batch_norm_without_parameters_follows_the_backbone(frozen):
    model = Toy(affine=False)
    if frozen:
        freeze_backbone(model)
    keep_frozen_bn(model).train()
    assert model.bn.training is not frozen


def test_backbone_and_head_split_every_parameter_once():
    model = small_resnet()
    backbone, head = backbone_and_head(model)
    assert [p for p in head] == [model.fc.weight, model.fc.bias]
    ids = [id(p) for p in backbone + head]
    assert len(ids) == len(set(ids)) == len(list(model.parameters()))
    opt = torch.optim.SGD([{"params": backbone, "lr": 1e-3}, {"params": head, "lr": 1e-2}])
    model(torch.randn(2, 1, 28, 28)).sum().backward()
    opt.step()  # both groups step without complaint


@pytest.mark.parametrize("helper", [replace_head, freeze_backbone, backbone_and_head])
def test_a_model_without_a_linear_fc_is_refused_by_name(helper):
    args = (3,) if helper is replace_head else ()
    with pytest.raises(TypeError, match=r"model\.fc.*Sequential has no attribute fc"):
        helper(nn.Sequential(nn.Linear(2, 2)), *args)
    odd = Toy()
    odd.fc = nn.Sequential(nn.Linear(3, 2))
    with pytest.raises(TypeError, match="fc is a Sequential"):
        helper(odd, *args)


@pytest.mark.parametrize("num_classes", [0, -2, 2.5, "10"])
def test_replace_head_refuses_a_bad_number_of_classes(num_classes):
    model = Toy()
    with pytest.raises(ValueError, match=f"num_classes must be an integer >= 1, got {num_classes!r}"):
        replace_head(model, num_classes)
    assert model.fc.out_features == 2  # unchanged


def test_exercise_helper_still_imports_from_imagenet():
    from coursekit.checks import check

    assert check("transfer.trainable_parameters", 512 * 2 + 2)


def test_a_download_removes_what_a_killed_download_left_and_writes_atomically(tmp_path, monkeypatch):
    import hashlib
    import urllib.error

    from coursekit.data import locations
    from coursekit.models import imagenet

    monkeypatch.setenv(locations.DATA_DIR_ENV, str(tmp_path / "data"))
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    filename = imagenet.weights_filename("resnet18")
    folder = imagenet.weights_dir()
    folder.mkdir(parents=True)
    stale = folder / f".{filename}.999999999x0123456789ab.partial"  # a writer that no longer runs
    stale.write_bytes(b"half a download")

    def offline(url, destination):
        destination.write_bytes(b"the first bytes")  # then the connection drops
        raise urllib.error.URLError("connection reset")

    monkeypatch.setattr(imagenet, "_download", offline)
    with pytest.raises(imagenet.WeightsUnavailable, match="connection reset"):
        imagenet.find_weights("resnet18")
    assert sorted(p.name for p in folder.iterdir()) == []  # the stale file and the new partial are gone

    payload = b"stand-in weights"
    monkeypatch.setitem(imagenet.EXPECTED_SHA256, filename, hashlib.sha256(payload).hexdigest())
    monkeypatch.setattr(imagenet, "_download", lambda url, destination: destination.write_bytes(payload))
    assert imagenet.find_weights("resnet18") == folder / filename
    assert (folder / filename).read_bytes() == payload
    assert sorted(p.name for p in folder.iterdir()) == [filename]
