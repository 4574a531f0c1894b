"""Raw `eigennet._core` (issue 15, rows 13, 14 and 16): out-of-range layer indices and invalid
piecewise schedules raise instead of reading out of bounds, and models without parameters copy
nothing through null pointers."""

from __future__ import annotations

import numpy as np
import pytest

import eigennet as en
from eigennet import _core


def _core_model():
    spec = _core.LayerSpec("dense", {"units": 3})
    return _core.Model32(_core.GraphSpec.chain(4, [spec]), 0)


@pytest.mark.parametrize("index", [1, 2, 10**9, 2**63])
def test_layer_index_out_of_range_raises(index):
    model = _core_model()
    assert model.width(0) == 3 and model.param_offset(0) == 0
    with pytest.raises(IndexError, match="out of range: the model has 1 layers"):
        model.width(index)
    with pytest.raises(IndexError, match="out of range"):
        model.param_offset(index)


@pytest.mark.parametrize("values, boundaries", [([], []), ([0.1], [5.0, 10.0]), ([], [1.0])])
def test_piecewise_schedule_without_matching_values_raises(values, boundaries):
    s = _core.Schedule()
    s.kind = "piecewise_constant"
    s.values, s.boundaries = values, boundaries
    with pytest.raises(ValueError, match="len\\(values\\) == len\\(boundaries\\) \\+ 1"):
        s.at(3)
    s.values, s.boundaries = [0.1, 0.01], [5.0]
    assert (s.at(3), s.at(5), s.at(6)) == (0.1, 0.1, 0.01)  # Keras: values[0] while step <= 5


def test_parameterless_and_stateless_models_round_trip(tmp_path):
    # Plain SGD keeps no optimizer state and an Activation-only model has no weights: their saves,
    # loads and get/set_weights copy 0 bytes (UBSan flagged memcpy on null before).
    model = en.Sequential([en.Input((3,)), en.layers.Activation("relu")])
    model.compile(optimizer="sgd", loss="mse")
    assert model.get_weights() == []
    model.set_weights([])
    path = tmp_path / "m.keras"
    model.save(str(path))
    restored = en.models.load_model(str(path))
    x = np.array([[-1.0, 0.0, 2.0]], np.float32)
    np.testing.assert_array_equal(restored.predict(x, verbose=0), [[0.0, 0.0, 2.0]])
