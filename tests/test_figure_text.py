"""Figures record the size of their smallest text, and the browser check can read it back."""
import base64
import importlib.util
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from dof_helpers import plotting  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _browser_check():
    spec = importlib.util.spec_from_file_location("browser_check", ROOT / "tools" / "browser_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_min_text_px_is_the_smallest_visible_text():
    plotting.use_house_style()
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1], label="a line")
    ax.set_xlabel("x (count)")
    ax.legend(fontsize=7)
    ax.text(0.5, 0.5, "hidden", fontsize=3).set_visible(False)
    assert plotting.min_text_px(fig) == pytest.approx(7 * fig.dpi / 72)
    plt.close(fig)


def test_png_carries_min_text_px_for_the_browser_check(tmp_path):
    pytest.importorskip("IPython")
    plotting.use_house_style()
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    ax.set_title("title")
    png = tmp_path / "fig.png"
    png.write_bytes(base64.b64decode(plotting.style._png_with_text_size(fig)))
    plt.close(fig)
    meta = _browser_check().png_text_chunks(png)
    assert float(meta["dof:min_text_px"]) == pytest.approx(9 * plotting.HOUSE_RC["figure.dpi"] / 72, abs=0.01)


def test_phase_row_wraps_into_a_grid_with_the_legend_in_the_spare_panel():
    from dof_helpers import thresholds
    from dof_helpers.chapters import phase_figures

    curves = {("random_affine", 0): 32, ("burn_in", 4): 16, ("burn_in", 8): 8, ("burn_in", 16): 4}
    rows = [dict(method=m, t=t, d=d, seed=s, status="ok", best_train_acc=0.9 if d >= thr else 0.1,
                 best_test_acc=0.9 if d >= thr else 0.1, D=1000)
            for (m, t), thr in curves.items() for s in (0, 1, 2) for d in (1, 2, 4, 8, 16, 32, 64)]
    table, dstar = thresholds.curve_tables(rows, delta=0.34, levels=[0.3, 0.5, 0.9])
    one_row = phase_figures.figure_phase_row(table, dstar, baseline=0.95)
    grid = phase_figures.figure_phase_row(table, dstar, baseline=0.95, ncols=3)
    assert one_row.get_size_inches()[0] > 16 and grid.get_size_inches()[0] < 10.5
    spare = [ax for ax in grid.axes if not ax.axison]
    assert len(spare) == 1 and spare[0].get_legend() is not None  # the legend sits off the curves
    assert plotting.min_text_px(grid) * 1066 / (grid.get_size_inches()[0] * grid.dpi) >= 9  # full width
    plt.close("all")


def test_threshold_curves_shade_a_band_and_log2_axes_label_only_major_ticks():
    import numpy as np
    plotting.use_house_style()
    fig, ax = plt.subplots()
    levels = np.array([0.5, 0.6, 0.7])
    plotting.threshold_curves(ax, {"a": (levels, [2.0, 4.0, 8.0])}, bands={"a": (levels, [1, 2, 4], [4, 8, np.inf])})
    assert len(ax.collections) == 1  # the band
    fig.canvas.draw()
    minor = [t.get_text() for t in ax.get_xticklabels(minor=True) if t.get_text()]
    assert minor == [], minor  # minor labels overprinted the major ones on short log-2 ranges
    plt.close(fig)


def test_success_curves_draw_clopper_pearson_error_bars():
    import numpy as np
    plotting.use_house_style()
    fig, ax = plt.subplots()
    plotting.success_curves(ax, {"a": ([1, 2, 4], [0.0, 0.5, 1.0], [0.0, 0.1, 0.7], [0.3, 0.9, 1.0])})
    (container,) = ax.containers
    segments = container.lines[2][0].get_segments()
    assert np.allclose([s[:, 1] for s in segments], [(0.0, 0.3), (0.1, 0.9), (0.7, 1.0)])
    plt.close(fig)


def _lottery_frame(seeds):
    import pandas as pd
    rows = [{"method": m, "seed": s, "d": d, "best_train_acc": 0.5 + 0.01 * d + 0.001 * s}
            for m in ("lottery_subspace", "lottery_subspace_t", "random_affine") for s in seeds for d in (1, 2, 4)]
    return pd.DataFrame(rows)


def test_lottery_seed_curves_one_legend_entry_per_seed_up_to_few_then_per_method():
    acc, styles = plotting.lottery_seed_curves(_lottery_frame([0, 1]), "train_acc", t=8)
    assert len(acc) == 4 and all(not k.startswith("_") for k in acc)  # 2 methods x 2 seeds, random affine left out
    assert len({styles[k]["ls"] for k in acc}) == 2  # seeds told apart by line style
    acc, styles = plotting.lottery_seed_curves(_lottery_frame(range(10)), "train_acc", t=8)
    assert len(acc) == 20 and sum(not k.startswith("_") for k in acc) == 2  # one legend entry per method
    assert {s["ls"] for s in styles.values()} == {"-"}
    d, y = acc[next(k for k in acc if not k.startswith("_"))]
    assert list(d) == [1, 2, 4] and np.allclose(y, [0.51, 0.52, 0.54])


@pytest.mark.parametrize("seeds", [[0, 1], list(range(5))])  # up to `few` seeds, and more than `few`
def test_lottery_spectrum_rows_draw_three_rows_with_one_legend_below(seeds):
    plotting.use_house_style()
    frame = _lottery_frame(seeds)
    summary = {"raw": frame, "frame": frame, "raw_test": frame.rename(columns={"best_train_acc": "best_test_acc"}),
               "frame_test": frame.rename(columns={"best_train_acc": "best_test_acc"}), "full": 0.6, "full_test": 0.55}
    spectra = [{"seed": s, "singular_values": [3.0, 2.0, 1.0, 0.5]} for s in seeds]
    fig = plt.figure(figsize=(8, 8), layout="constrained")
    axes = plotting.lottery_spectrum_rows(fig, spectra, summary, t=8, name="grid", few=4)
    assert axes.shape == (3, 2) and len(fig.legends) == 1
    # the spectra get a legend only while their seeds can be told apart
    assert (axes[0, 1].get_legend() is not None) == (len(seeds) <= 4) and axes[1, 0].get_legend() is None
    assert axes[0, 0].get_title() == "grid: as recorded"
    plt.close(fig)


@pytest.mark.parametrize("n, shape", [(1, (1, 1)), (2, (1, 2)), (3, (2, 2)), (5, (3, 2))])
def test_panel_grid_wraps_panels_into_rows_of_two_and_hides_the_spares(n, shape):
    fig, axes = plotting.panel_grid(n, panel_size=(4, 3))
    assert len(axes) == n and all(ax.get_visible() for ax in axes)
    every = fig.get_axes()
    assert len(every) == shape[0] * shape[1]
    assert sum(not ax.get_visible() for ax in every) == shape[0] * shape[1] - n
    assert tuple(fig.get_size_inches()) == pytest.approx((4 * shape[1], 3 * shape[0]))
    plt.close(fig)


def test_panel_grid_rejects_a_bad_count():
    with pytest.raises(ValueError, match="n"):
        plotting.panel_grid(0)
