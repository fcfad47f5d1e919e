"""The training-curves picture of a model card: loss and mAP per epoch, from a checkpoint's ``train_results``.

``train_results`` is Ultralytics' ``results.csv`` as a dict (column name -> list of per-epoch values, e.g.
``epoch``, ``train/box_loss``, ``val/cls_loss``, ``metrics/mAP50(B)``, ``lr/pg0``). Rendering uses matplotlib's
object API on the Agg canvas (no pyplot global state, no display) with its bundled DejaVu Sans font, so nothing is
downloaded; the PNG carries no timestamp or version metadata, so the same results give the same bytes.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any, Mapping

__all__ = ["loss_columns", "metric_columns", "has_training_curves", "training_curves_figure", "save_training_curves"]

logger = logging.getLogger(__name__)

_FONT = "DejaVu Sans"  # ships inside matplotlib


def _numeric_series(values: Any) -> list[float] | None:
    """The column as floats (NaN for gaps), or None when it is not a per-epoch list of numbers."""
    if not isinstance(values, (list, tuple)) or not values:
        return None
    series = []
    for value in values:
        if value is None or isinstance(value, bool):
            series.append(math.nan)
        elif isinstance(value, (int, float)):
            series.append(float(value))
        else:
            try:
                series.append(float(value))
            except (TypeError, ValueError):
                return None
    return series if any(math.isfinite(v) for v in series) else None


def loss_columns(train_results: Mapping[str, Any] | None) -> list[str]:
    """Names of the per-epoch loss columns (``train/box_loss``, ``val/dfl_loss``, ...) that hold numbers."""
    return [name for name, values in (train_results or {}).items()
            if "loss" in name and _numeric_series(values) is not None]


def metric_columns(train_results: Mapping[str, Any] | None) -> list[str]:
    """Names of the per-epoch accuracy columns: mAP (or top-k accuracy for classifiers), else precision/recall."""
    columns = [name for name, values in (train_results or {}).items()
               if name.startswith("metrics/") and _numeric_series(values) is not None]
    preferred = [name for name in columns if "mAP" in name or "accuracy" in name]
    return preferred or columns


def has_training_curves(train_results: Mapping[str, Any] | None) -> bool:
    """Whether ``train_results`` holds anything to plot (so a card should embed the picture)."""
    return bool(loss_columns(train_results) or metric_columns(train_results))


def _epochs(train_results: Mapping[str, Any], length: int) -> list[float]:
    """The epoch axis: the ``epoch`` column when it fits, else 1..N."""
    epochs = _numeric_series(train_results.get("epoch"))
    if epochs is not None and len(epochs) == length and all(math.isfinite(e) for e in epochs):
        return epochs
    return [float(i + 1) for i in range(length)]


def _plot_columns(axes: Any, train_results: Mapping[str, Any], columns: list[str]) -> None:
    """One line per column; validation columns dashed, in the color of their training column."""
    components = list(dict.fromkeys(name.split("/", 1)[-1] for name in columns))  # box_loss, cls_loss, ...
    for name in columns:
        series = _numeric_series(train_results[name])
        style = "--" if name.startswith("val/") else "-"
        color = f"C{components.index(name.split('/', 1)[-1]) % 10}"  # train and val of one component share a color
        axes.plot(_epochs(train_results, len(series)), series, style, color=color,
                  marker="." if len(series) < 30 else None, linewidth=1.5, label=name)
    if columns:
        axes.legend(fontsize=7, loc="best")
    else:
        axes.text(0.5, 0.5, "not recorded", ha="center", va="center", transform=axes.transAxes, color="gray")
    axes.set_xlabel("epoch")
    axes.grid(True, alpha=0.3)


def training_curves_figure(train_results: Mapping[str, Any] | None, title: str | None = None) -> Any:
    """A two-panel matplotlib ``Figure``: losses per epoch (left) and validation mAP per epoch (right).

    Args:
        train_results: Column name -> per-epoch values (Ultralytics ``results.csv`` layout).
        title: Optional figure title.

    Returns:
        The ``matplotlib.figure.Figure``, or None when there is nothing to plot.
    """
    if not has_training_curves(train_results):
        return None
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with rc_context({"font.family": _FONT, "font.size": 9}):
        figure = Figure(figsize=(10, 4), dpi=100, layout="constrained")
        FigureCanvasAgg(figure)
        loss_axes, metric_axes = figure.subplots(1, 2)
        _plot_columns(loss_axes, train_results, loss_columns(train_results))
        loss_axes.set_title("Loss")
        loss_axes.set_ylabel("loss")
        _plot_columns(metric_axes, train_results, metric_columns(train_results))
        metric_axes.set_title("Validation mAP")
        metric_axes.set_ylabel("value")
        if title:
            figure.suptitle(title)
    return figure


def save_training_curves(train_results: Mapping[str, Any] | None, path: Path, title: str | None = None) -> Path | None:
    """Render :func:`training_curves_figure` to a PNG at ``path``.

    Returns:
        ``path``, or None (and nothing written) when there is nothing to plot.
    """
    figure = training_curves_figure(train_results, title)
    if figure is None:
        logger.info("no per-epoch training results; %s not written", path.name)
        return None
    from matplotlib import rc_context

    path.parent.mkdir(parents=True, exist_ok=True)
    with rc_context({"font.family": _FONT}):
        figure.savefig(path, format="png", metadata={"Software": None})
    logger.info("wrote %s", path)
    return path
