"""Write a throwaway .ipynb of code cells for the browser tests to open in JupyterLab."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path


def write_notebook(path: Path, sources: Sequence[str]) -> None:
    """An nbformat 4 notebook whose code cells hold ``sources``, unexecuted, python3 kernel."""
    cells = [
        {
            "cell_type": "code",
            "id": f"cell-{i}",
            "metadata": {},
            "source": src,
            "outputs": [],
            "execution_count": None,
        }
        for i, src in enumerate(sources)
    ]
    nb = {
        "cells": cells,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(nb))
