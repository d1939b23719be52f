"""Shared pytest configuration."""


def _chapter_number(item) -> int:
    name = item.path.name
    return int(name[:2]) if item.path.suffix == ".ipynb" and name[:2].isdigit() else 0


def pytest_collection_modifyitems(config, items):
    """Notebook regression tests run the latest chapter first (07, 06, ..., 01).

    ``make test`` spreads the notebooks over two workers, one notebook per worker at a time
    (``--dist loadfile --no-loadscope-reorder``): the later chapters run experiments and take
    longest, so starting them first keeps both workers busy until the end. A notebook's
    cells keep their order (the sort is stable); other tests are not moved."""
    items.sort(key=lambda item: -_chapter_number(item))
