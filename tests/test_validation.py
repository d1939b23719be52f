"""Argument checks name the parameter and the accepted values."""
import pytest

from dof_helpers.validation import check_choice, check_float, check_int


def test_choice_lists_accepted_values():
    assert check_choice("pool", "max", ("max", "avg")) == "max"
    with pytest.raises(ValueError, match=r"pool='min' is not valid; accepted values: 'max', 'avg'"):
        check_choice("pool", "min", ("max", "avg"))


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "4"])
def test_int_rejects(bad):
    with pytest.raises(ValueError, match="d="):
        check_int("d", bad, min_value=1)


def test_float_open_interval():
    assert check_float("delta", 0.1, min_value=0, max_value=1, open_min=True, open_max=True) == 0.1
    for bad in (0.0, 1.0, float("nan"), -0.2):
        with pytest.raises(ValueError, match=r"delta=.*\(0, 1\)"):
            check_float("delta", bad, min_value=0, max_value=1, open_min=True, open_max=True)
