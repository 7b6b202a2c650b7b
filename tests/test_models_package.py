"""Every name coursekit.models advertises can be imported from the module it names."""
import pytest

import coursekit.models as models


@pytest.mark.parametrize("name", sorted(models._WHERE))
def test_exported_name_resolves(name):
    assert getattr(models, name) is not None
    assert name in dir(models)


def test_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'LeNet6'"):
        models.LeNet6
