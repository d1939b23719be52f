"""The house style: rc settings, one colour and label per method, glueing and saving figures."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

HOUSE_RC = {
    "figure.dpi": 110,
    "savefig.dpi": 150,
    "figure.figsize": (6.0, 3.8),
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.25,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "lines.linewidth": 1.8,
    "image.cmap": "Greys",
}

METHOD_COLORS = {
    "full": "black",
    "random_affine": "#1f5fbf",
    "burn_in": "#c0392b",
    "lottery_subspace": "#7b3fa0",
    "lottery_subspace_t": "#b07cc6",
    "lottery_ticket": "#2e8b57",
    "lottery_ticket_t": "#7fbf7f",
    "random_pruning": "#7f7f7f",
    "random_pruning_t": "#b5b5b5",
    "linearised": "#e67e22",
    "theory": "#d35400",
}

METHOD_LABELS = {
    "full": "full model",
    "random_affine": "random affine",
    "burn_in": "burn-in",
    "lottery_subspace": "lottery subspace (rewind to init)",
    "lottery_subspace_t": "lottery subspace (rewind to step t)",
    "lottery_ticket": "lottery ticket (rewind to init)",
    "lottery_ticket_t": "lottery ticket (rewind to step t)",
    "random_pruning": "random pruning at init",
    "random_pruning_t": "random pruning at step t",
    "linearised": "linearised network",
}

_BURN_IN_SHADES = {4: "#f1948a", 8: "#e74c3c", 16: "#922b21", 32: "#641e16"}


def use_house_style() -> None:
    """Apply the book's matplotlib style (call once at the top of a chapter).

    In a notebook it also makes every figure's PNG record the size of its smallest text in
    pixels (PNG text chunk ``dof:min_text_px``), which the browser check
    (``tools/browser_check.py``) turns into the size a reader sees at page width.
    """
    plt.rcParams.update(HOUSE_RC)
    try:
        from IPython import get_ipython
    except ImportError:  # plain Python: nothing to register
        return
    ip = get_ipython()
    if ip is not None and hasattr(ip, "display_formatter"):
        from matplotlib.figure import Figure
        plt.close(plt.figure())  # load the inline backend now: it registers its own PNG formatter on load
        ip.display_formatter.formatters["image/png"].for_type(Figure, _png_with_text_size)


def min_text_px(fig) -> float | None:
    """Size in pixels (at the figure's dpi) of the smallest visible, non-empty text of ``fig``."""
    from matplotlib.text import Text
    fig.draw_without_rendering()  # tick labels get their text only when the figure is drawn
    sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    return min(sizes) * fig.dpi / 72 if sizes else None


def _png_with_text_size(fig):
    """The inline backend's PNG (tight bounding box), with ``dof:min_text_px`` in its metadata."""
    from IPython.core.pylabtools import print_figure
    if not fig.axes and not fig.lines and not fig.images:
        return None
    size = min_text_px(fig)
    meta = {"dof:min_text_px": f"{size:.2f}"} if size else {}
    return print_figure(fig, "png", bbox_inches="tight", base64=True, metadata=meta)


def glue_figure(name: str, fig) -> None:
    """Hand ``fig`` to the book under ``name`` (myst-nb ``glue``) instead of showing it in place.

    The markdown cell that follows shows it with a caption and alt text::

        ```{glue:figure} name
        :alt: what the figure shows, in words
        :name: name

        Caption.
        ```

    Outside a notebook the figure is simply closed.
    """
    try:
        from myst_nb import glue
        glue(name, fig, display=False)
    finally:
        plt.close(fig)


def method_color(method: str, t: int = 0) -> str:
    """Colour of a method; burn-in subspaces darken as the burn-in time ``t`` grows."""
    if method == "burn_in":
        if t in _BURN_IN_SHADES:
            return _BURN_IN_SHADES[t]
        return METHOD_COLORS["burn_in"]
    return METHOD_COLORS.get(method, "#333333")


def method_label(method: str, t: int = 0) -> str:
    """Legend text of a method, with its burn-in / rewind step where it has one."""
    base = METHOD_LABELS.get(method, method.replace("_", " "))
    if method == "burn_in" or (method.endswith("_t") and t):
        return f"{base}, t = {t}"
    return base


def save_figure(fig, path: str | Path) -> Path:
    """Save ``fig`` as PNG at ``path`` (folders are created) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, bbox_inches="tight")
    return path


def panel_grid(n: int, *, panel_size: tuple = (5.4, 4.2), ncols: int = 2, extra_height: float = 0.0, **options):
    """A figure of ``n`` panels wrapped into rows of at most ``ncols`` (constrained layout),
    so that a figure with one panel per grid keeps a readable text size however many grids
    there are; the spare axes of the last row are hidden. Returns ``(fig, axes)``, ``axes``
    the ``n`` used axes in reading order. ``extra_height`` (inches) leaves room for a legend
    under the panels; ``options`` go to :func:`matplotlib.pyplot.subplots` (e.g. ``sharey``)."""
    import matplotlib.pyplot as plt
    from ..validation import check_int
    check_int("n", n, min_value=1)
    check_int("ncols", ncols, min_value=1)
    cols = min(n, ncols)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(panel_size[0] * cols, panel_size[1] * rows + extra_height),
                             squeeze=False, layout="constrained", **options)
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]
