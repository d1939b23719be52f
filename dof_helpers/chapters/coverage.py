"""The coverage table: every figure and table of the paper, and where (and how far) the book reproduces it.

:data:`COVERAGE` lists each item with its status ("yes", "partial", "no"), the chapter,
the presets that reproduce it and, for what is not reproduced here, why. The scale column
is read from the presets themselves (dataset, training examples, epochs, seeds), so it
cannot drift from what the commands run. ``python -m dof_helpers.chapters.coverage``
prints the markdown table the book includes (``make html``).
"""
from __future__ import annotations

from ..paths import repo_root

# (paper item, what it shows, status, book chapter, presets "chapter:preset", why not / note)
COVERAGE = (
    ("Figure 1", "sketch of the three subspace methods", "no", "05_phase_transition", (),
     "a schematic: the chapter describes the methods in words and equations instead"),
    ("Figure 2", "P_s phase diagrams, Conv-2, random and burn-in, 4 datasets", "partial", "05_phase_transition",
     ("05_phase_transition:cpu-large", "05_phase_transition:paper-conv2-fashion_mnist",
      "05_phase_transition:paper-conv2-fashion_mnist-fastfood",
      "05_phase_transition:paper-conv2-fashion_mnist-fastfood-lr01",
      "05_phase_transition:paper-conv2-mnist", "05_phase_transition:paper-conv2-cifar10",
      "05_phase_transition:paper-conv2-svhn"),
     "Fashion-MNIST row on CPU at the paper's protocol (a background job of many CPU hours, committed as it "
     "goes: the presets column says how far), beyond the paper up to d = D with the Fastfood basis; MNIST, "
     "CIFAR-10 and SVHN need TFDS (internet) and a GPU for the full grid"),
    ("Figure 3", "d* against accuracy for every method", "partial", "05_phase_transition, 06_lottery",
     ("05_phase_transition:cpu-large", "06_lottery:cpu-large", "06_lottery:paper"),
     "Conv-2 on Fashion-MNIST only, d* with a bootstrap band over seeds and P_s with exact binomial intervals; "
     "06 adds the lottery subspaces on a trajectory capped at the full model's SGD steps (compute-matched); "
     "Conv-3 and ResNet20 columns need a GPU"),
    ("Figure 4", "Gaussian width; projection onto the sphere (sketches)", "yes", "02_gaussian_width, 03_escape_theorem",
     (), "as computed figures: widths measured, projected sets drawn at several distances"),
    ("Figure 5", "quadratic well: simulated P_s and d* against eq. 3.4", "yes", "04_quadratic_well",
     ("04_quadratic_well:paper",), "the default is a smaller D; the paper preset uses the paper's sizes"),
    ("Table 1", "taxonomy of pruning and subspace methods", "yes", "06_lottery",
     ("06_lottery:cpu-large", "06_lottery:paper"),
     "all eight cells, four of which the paper left empty"),
    ("Figure 6", "accuracy against compression D/d", "partial", "06_lottery", ("06_lottery:cpu-large",
                                                                                "06_lottery:paper"),
     "Conv-2 on Fashion-MNIST, train and test accuracy, with compute-matched lottery subspaces beside the "
     "original ones; the other datasets and models need TFDS and a GPU"),
    ("Figure 7", "phase diagrams, Conv-3", "no", "05_phase_transition",
     ("05_phase_transition:paper-conv3-fashion_mnist", "05_phase_transition:paper-conv3-mnist",
      "05_phase_transition:paper-conv3-cifar10"), "a Conv-3 step is ~4x a Conv-2 step: GPU presets only"),
    ("Figure 8", "phase diagrams, ResNet20", "no", "05_phase_transition",
     ("05_phase_transition:paper-resnet20-fashion_mnist", "05_phase_transition:paper-resnet20-mnist",
      "05_phase_transition:paper-resnet20-cifar10"), "ResNet20 sweeps take CPU weeks: GPU presets only"),
    ("Figure 9", "linearised network: loss-landscape cuts and d*", "partial", "07_linearised",
     ("07_linearised:cpu-large", "07_linearised:paper", "07_linearised:paper-fashion_mnist"),
     "Fashion-MNIST row on 1,024 training images on CPU; the MNIST row needs TFDS (internet); both rows at the "
     "paper's sizes are GPU presets. Beyond the paper: d* predicted from the network's own curvature, by the "
     "Gauss-Newton matrix at the optimum (the paper's view) and by the Gauss-Newton model at w_0"),
    ("Figures 10-11", "lottery-subspace spectra and raw accuracies", "partial", "06_lottery",
     ("06_lottery:cpu-large", "06_lottery:paper", "06_lottery:paper-cifar10"),
     "Fashion-MNIST, train and test accuracy, at the paper's protocol, run on a CPU as a resumable "
     "background job (the presets column gives how much of it is committed); MNIST, CIFAR-10/100 need TFDS"),
    ("Figure 12", "accuracy from d = 0 (the centre itself)", "yes", "05_phase_transition",
     ("05_phase_transition:cpu-large",), "Fashion-MNIST"),
    ("Table 2", "epochs per dataset and model", "yes", "01_baselines", ("01_baselines:paper",),
     "the paper presets use these epochs"),
    ("Figure 13", "projection of an ellipse's axes (sketch for Lemma B.1)", "partial", "02_gaussian_width", (),
     "no sketch; the Lemma's bounds are computed and its constants re-derived"),
)


#: presets whose records are committed (a chapter-05 results folder; chapter 06's records and
#: settings files of the preset's tag): their progress is read from the records
COMMITTED = {"05_phase_transition:cpu-large": "results/05_phase_transition",
             "05_phase_transition:paper-conv2-fashion_mnist": "results/05_phase_transition/paper",
             "05_phase_transition:paper-conv2-fashion_mnist-fastfood": "results/05_phase_transition/paper-fastfood",
             "05_phase_transition:paper-conv2-fashion_mnist-fastfood-lr01":
                 "results/05_phase_transition/paper-fastfood-lr01",
             "06_lottery:cpu-large": "results/06_lottery", "06_lottery:paper": "results/06_lottery"}


def committed_progress(spec: str) -> str | None:
    """"committed: k of n runs" for a preset of :data:`COMMITTED` (read from its records), None for others."""
    folder = COMMITTED.get(spec)
    if folder is None:
        return None
    chapter, preset = spec.split(":")
    if chapter == "06_lottery":
        from .common import chapter_parameters
        from .lottery_records import load_committed
        _, info = load_committed(repo_root() / folder, chapter_parameters(chapter, preset)["tag"])
        if info["state"] == "not run":
            return "no records committed yet"
        return f"committed: {info['done']:,} of {info['expected']:,} runs"
    from .phase_scale import load_if_present
    from .phase_transition import completion
    res = load_if_present(repo_root() / folder)
    if res is None:
        return "no records committed yet"
    setup, _, records, *_ = res
    c = completion(setup, records)
    return f"committed: {c['done']:,} of {c['expected']:,} runs"


def preset_scale(spec: str) -> str:
    """"dataset, n_train x epochs, seeds" of a preset ``chapter:preset``, read from its file
    and the chapter's parameters cell."""
    from .common import chapter_parameters
    chapter, preset = spec.split(":")
    p = chapter_parameters(chapter, preset)
    n = p.get("n_train")
    parts = [p.get("dataset", "synthetic"), f"{n:,} train" if n else ("all train" if "n_train" in p else None)]
    if "epochs" in p:
        parts.append(f"{p['epochs']} epochs")
    if "seeds" in p:
        parts.append(f"{len(p['seeds'])} seeds")
    if "D" in p:
        parts.append(f"D = {p['D']:,}")
    return ", ".join(x for x in parts if x)


def coverage_markdown() -> str:
    """The coverage table as markdown."""
    rows = ["| paper | what | reproduced | where | presets (scale) | note |", "|---|---|---|---|---|---|"]
    for item, what, status, where, presets, note in COVERAGE:
        scales = "; ".join(f"`{p[:2]}:{p.split(':')[1]}` ({preset_scale(p)}"
                           + (f"; {committed_progress(p)}" if committed_progress(p) else "") + ")"
                           for p in presets) or "-"
        chapters = ", ".join(f"{{doc}}`../notebooks/{c.strip()}`" if c.strip() != "-" else "-"
                             for c in where.split(","))
        rows.append(f"| {item} | {what} | **{status}** | {chapters} | {scales} | {note} |")
    return "\n".join(rows) + "\n"


def check_presets_exist() -> list[str]:
    """Presets named in :data:`COVERAGE` that have no file (should be empty)."""
    root = repo_root()
    return [p for *_, presets, _ in COVERAGE for p in presets
            if not (root / "presets" / p.split(":")[0] / f"{p.split(':')[1]}.yaml").exists()]


if __name__ == "__main__":
    print(coverage_markdown(), end="")
