"""The book's one plotting package: a house style and the figure types every chapter uses.

Every figure in the book is drawn by a function here from tidy records or arrays that
code computed beside it. By concept: the house style, method colours and labels, glueing
and saving (:mod:`.style`); success probability and threshold dimension against d
(:mod:`.thresholds`); the pruning taxonomy's accuracy-vs-compression and spectra
(:mod:`.pruning`); the theory chapters' figure types (:mod:`.theory`); landscape cuts and
curvature spectra (:mod:`.curvature`). All are re-exported here, so ``plotting.<name>``
reaches every one. Colours follow the method (random affine blue, burn-in reds that darken
with t, lottery subspaces purple, lottery tickets green, random pruning grey), so a method
looks the same in every chapter.
"""
from __future__ import annotations

from .style import (HOUSE_RC, METHOD_COLORS, METHOD_LABELS, glue_figure, method_color, panel_grid,
                    method_label, min_text_px, save_figure, use_house_style)
from .thresholds import (log2_dimension_axis, metric_curves, success_curves, success_heatmap,
                         threshold_curves)
from .pruning import (accuracy_against_d, compression_curves, layer_keep_curves, lottery_seed_curves,
                      lottery_spectrum_rows, spectrum_and_accuracy)
from .theory import (THEORY_STYLES, estimates_with_references, hit_probability_curves,
                     image_grid, predicted_vs_simulated, projection_sketch)
from .curvature import eigenvalue_profile, plane_contours, spectral_densities

__all__ = ["HOUSE_RC", "METHOD_COLORS", "METHOD_LABELS", "glue_figure", "method_color", "panel_grid",
           "method_label", "min_text_px", "save_figure", "use_house_style", "log2_dimension_axis",
           "metric_curves", "success_curves", "success_heatmap", "threshold_curves",
           "accuracy_against_d", "compression_curves", "layer_keep_curves", "lottery_seed_curves",
           "lottery_spectrum_rows", "spectrum_and_accuracy",
           "THEORY_STYLES", "estimates_with_references", "hit_probability_curves", "image_grid",
           "predicted_vs_simulated", "projection_sketch", "eigenvalue_profile", "plane_contours",
           "spectral_densities"]
