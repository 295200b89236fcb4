"""The plots of a tuning study (pyqtgraph): history, parallel coordinates, importances, trial curves; Compare.

`StudyPlots` holds four panels fed by the tune worker's updates:

- History: every complete trial's value (pruned ones hollow, at their last
  reported value) and the best so far as a step line; trial 0 (the file's own
  values) as a star.
- Parallel coordinates: one line per complete trial across one axis per tuned
  value (log ranges on a log scale, choices by their position) and the value,
  coloured by value (yellow is best).
- Importances: Optuna's parameter importances, once enough trials completed.
- Trial curves: `tune.metric` per epoch of every trial, faint; the trials
  selected in the table are drawn over them in colour, with their training
  curve dashed where the run has one (read from their run folders), as the
  Runs tab overlays runs.

`ComparePlots` overlays the loss (validation solid, training dashed) and the
first validation metric of each trial of a Compare, one colour per choice.
Legends sit under their plots, as in the training plots. Redraws follow the
training view's plot cadence (`cadence.PLOT_INTERVAL_S`).
"""
from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QVBoxLayout, QWidget

from nodetrainer.training.history import column, read_metrics
from nodetrainer.tune.space import label as optuna_label
from nodetrainer.tune.space import short_names

from .cadence import PLOT_INTERVAL_S, Cadence, Clock
from .outcome import metric_label
from .plots import PALETTE, color

GREY = "#9a9a9a"
BEST_COLOR = PALETTE[1]


def _colors(widget: QWidget) -> tuple[QColor, QColor]:
    pal = widget.palette()
    return pal.color(QPalette.ColorRole.WindowText), pal.color(QPalette.ColorRole.Base)


def _style(plot: pg.PlotItem, title: str, fg: QColor, xlabel: str = "", ylabel: str = "") -> pg.PlotItem:
    plot.setTitle(title, color=fg.name(), size="9pt")
    font = QFont()
    font.setPointSize(8)
    for side in ("left", "bottom"):
        axis = plot.getAxis(side)
        axis.setPen(pg.mkPen(fg))
        axis.setTextPen(pg.mkPen(fg))
        axis.setStyle(tickFont=font)
        axis.enableAutoSIPrefix(False)  # 0.97, not 970 (x0.001)
    if xlabel:
        plot.setLabel("bottom", xlabel, color=fg.name(), **{"font-size": "8pt"})
    if ylabel:
        plot.setLabel("left", ylabel, color=fg.name(), **{"font-size": "8pt"})
    plot.getViewBox().setMouseEnabled(x=True, y=False)
    return plot


def _legend_below(plot: pg.PlotItem, fg: QColor) -> pg.LegendItem:
    """A legend in its own row under the x axis (as the training plots have it): it never covers a curve."""
    legend = pg.LegendItem(offset=None, labelTextSize="8pt", labelTextColor=fg, colCount=3, horSpacing=4,
                           verSpacing=-8)
    legend.setMinimumWidth(0)
    plot.layout.addItem(legend, 4, 1, alignment=Qt.AlignmentFlag.AlignHCenter)
    plot.legend = legend
    return legend


def _placeholder(plot: pg.PlotItem, text: str) -> None:
    item = pg.TextItem(text, color=GREY, anchor=(0.5, 0.5))
    item.setPos(0.5, 0.5)
    plot.addItem(item)
    plot.setXRange(0, 1)
    plot.setYRange(0, 1)


class StudyPlots(QWidget):
    """History, parallel coordinates, importances and trial curves of one study."""

    def __init__(self, parent: QWidget | None = None, clock: Clock = time.monotonic) -> None:
        super().__init__(parent)
        self.view = pg.GraphicsLayoutWidget()
        self.view.setMinimumSize(360, 240)
        fg, bg = _colors(self)
        self._fg, self._bg = fg, bg
        self.view.setBackground(bg)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        self.history = _style(self.view.addPlot(row=0, col=0), "Optimization history", fg, "trial")
        self.parallel = _style(self.view.addPlot(row=0, col=1), "Parallel coordinates", fg)
        self.importance = _style(self.view.addPlot(row=1, col=0), "Parameter importance (Optuna)", fg)
        self.curves = _style(self.view.addPlot(row=1, col=1), "Trial curves", fg, "epoch")
        self.parallel.getViewBox().setMouseEnabled(x=False, y=False)
        self.parallel.hideAxis("left")
        self.history_legend = _legend_below(self.history, fg)
        self.curves_legend = _legend_below(self.curves, fg)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.redraw)
        self.cadence = Cadence(PLOT_INTERVAL_S, clock)
        self.redraws = 0
        self.reset()

    # -- state --------------------------------------------------------------------------------------
    def reset(self, metric: str = "value", direction: str = "minimize", dims: list[Any] | None = None) -> None:
        self.metric, self.direction = metric, direction
        self.dims = list(dims or [])
        self.names = short_names([d.path for d in self.dims])
        self.records: dict[int, Any] = {}
        self.live: dict[int, list[tuple[int, float]]] = {}  # trial -> (epoch, metric) seen in this session
        self.selected: list[Any] = []
        self.importances: dict[str, float] = {}
        self._dirty = {"history", "parallel", "importance", "curves"}
        self.redraw()

    def set_records(self, records: list[Any]) -> None:
        for r in records:
            self.records[r.number] = r
        self._dirty |= {"history", "parallel", "curves"}
        self.schedule()

    def add_epochs(self, epochs: list[Any]) -> None:
        for e in epochs:
            value = e.metrics.get(self.metric)
            if isinstance(value, (int, float)) and math.isfinite(value):
                self.live.setdefault(e.number, []).append((e.epoch, float(value)))
        if epochs:
            self._dirty.add("curves")
            self.schedule()

    def set_importances(self, values: dict[str, float]) -> None:
        self.importances = dict(values)
        self._dirty.add("importance")
        self.schedule()

    def select(self, records: list[Any]) -> None:
        """Draws these trials' curves over the others (from their run folders)."""
        self.selected = list(records)
        self._dirty.add("curves")
        self.redraw()

    # -- drawing --------------------------------------------------------------------------------------
    def schedule(self) -> None:
        wait = self.cadence.wait()
        if wait <= 0:
            self.redraw()
        elif not self._timer.isActive():
            self._timer.start(max(1, round(wait * 1000)))

    def redraw(self) -> None:
        self._timer.stop()
        self.cadence.mark()
        dirty, self._dirty = self._dirty, set()
        if "history" in dirty:
            self._draw_history()
        if "parallel" in dirty:
            self._draw_parallel()
        if "importance" in dirty:
            self._draw_importance()
        if "curves" in dirty:
            self._draw_curves()
        self.redraws += 1

    def _sorted(self) -> list[Any]:
        return [self.records[n] for n in sorted(self.records)]

    def _draw_history(self) -> None:
        p = self.history
        p.clear()
        self.history_legend.clear()
        p.setLabel("left", metric_label(self.metric), color=self._fg.name(), **{"font-size": "8pt"})
        recs = self._sorted()
        done = [r for r in recs if r.state == "complete" and r.value is not None]
        pruned = [r for r in recs if r.state == "pruned" and r.value is not None]
        if not done and not pruned:
            _placeholder(p, "each trial's value, and the best so far")
            return
        p.enableAutoRange()
        if done:
            p.plot([r.number for r in done], [r.value for r in done], pen=None, symbol="o", symbolSize=7,
                   symbolPen=None, symbolBrush=PALETTE[0], name="complete")
        if pruned:
            p.plot([r.number for r in pruned], [r.value for r in pruned], pen=None, symbol="o", symbolSize=7,
                   symbolPen=pg.mkPen(GREY, width=1.5), symbolBrush=None, name="pruned")
        base = [r for r in done if r.baseline]
        if base:
            p.plot([base[0].number], [base[0].value], pen=None, symbol="star", symbolSize=14, symbolPen=None,
                   symbolBrush=PALETTE[2], name="the file's values")
        xs, ys, best = [], [], None
        better = (lambda a, b: a > b) if self.direction == "maximize" else (lambda a, b: a < b)
        for r in done:
            if best is None or better(r.value, best):
                best = r.value
            xs.append(r.number)
            ys.append(best)
        if xs:
            last = max(r.number for r in recs)
            xs.append(last)
            ys.append(ys[-1])
            p.plot(xs, ys, pen=pg.mkPen(BEST_COLOR, width=2), stepMode=None, name="best so far")

    def point_counts(self) -> dict[str, int]:
        """Points drawn per panel (for tests)."""
        def count(plot: pg.PlotItem) -> int:
            total = 0
            for item in plot.listDataItems():
                x, _ = item.getData()
                total += 0 if x is None else len(x)
            return total
        return {"history": count(self.history), "parallel": len(self.parallel.listDataItems()),
                "importance": len(self.importances), "curves": len(self.curves.listDataItems())}

    def _axis_position(self, dim: Any, value: Any, values: list[Any]) -> float:
        """Where `value` sits on its axis, 0 (bottom) .. 1 (top)."""
        if dim.kind == "choice":
            labels = list(dim.labels)
            lab = optuna_label(value)
            return labels.index(lab) / max(1, len(labels) - 1) if lab in labels else math.nan
        lo, hi = float(dim.low), float(dim.high)
        v = float(value)
        if dim.log and lo > 0 and v > 0:
            lo, hi, v = math.log10(lo), math.log10(hi), math.log10(v)
        return (v - lo) / (hi - lo) if hi > lo else 0.5

    def _draw_parallel(self) -> None:
        p = self.parallel
        p.clear()
        done = [r for r in self._sorted() if r.state == "complete" and r.value is not None]
        axes = [d.path for d in self.dims]
        if not axes:
            p.getAxis("bottom").setTicks([[]])
            _placeholder(p, "one line per trial across the values tuned")
            return
        p.getAxis("bottom").setTicks([[(i, self.names.get(a, a)) for i, a in enumerate(axes)]
                                      + [(len(axes), self.metric)]])  # short: long labels are dropped
        p.setXRange(-0.4, len(axes) + 0.4, padding=0)
        p.setYRange(-0.16, 1.16, padding=0)
        for i in range(len(axes) + 1):
            p.plot([i, i], [0, 1], pen=pg.mkPen(self._fg, width=1))
        ends = [(d.labels[0], d.labels[-1]) if d.kind == "choice" else (d.low, d.high) for d in self.dims]
        if done:
            values = [r.value for r in done]
            ends.append((min(values), max(values)))
        for i, (lo, hi) in enumerate(ends):
            for y, value in ((0, lo), (1, hi)):
                item = pg.TextItem(_short(value), color=self._fg, anchor=(0.5, 0 if y == 0 else 1))
                item.setPos(i, -0.03 if y == 0 else 1.03)
                p.addItem(item)
        if not done:
            return
        vlo, vhi = min(values), max(values)
        cmap = pg.colormap.get("viridis")
        for r in sorted(done, key=lambda r: r.value if self.direction == "maximize" else -r.value):
            score = (r.value - vlo) / (vhi - vlo) if vhi > vlo else 1.0
            if self.direction == "minimize":
                score = 1.0 - score
            ys = [self._axis_position(d, r.values[d.path], values) if d.path in r.values else math.nan
                  for d in self.dims]
            ys.append((r.value - vlo) / (vhi - vlo) if vhi > vlo else 0.5)
            pen = pg.mkPen(cmap.map(score, mode="qcolor"), width=2.5 if score > 0.99 else 1.2)
            p.plot(list(range(len(ys))), ys, pen=pen, connect="finite")

    def _draw_importance(self) -> None:
        p = self.importance
        p.clear()
        if not self.importances:
            p.getAxis("left").setTicks([[]])
            _placeholder(p, "Optuna's estimate, once 5 trials completed")
            return
        items = sorted(self.importances.items(), key=lambda kv: kv[1])
        ys = list(range(len(items)))
        bars = pg.BarGraphItem(x0=0, y=ys, height=0.6, width=[v for _, v in items], brush=PALETTE[0])
        p.addItem(bars)
        names = short_names([k for k, _ in items])
        p.getAxis("left").setTicks([[(i, names[k]) for i, (k, _) in enumerate(items)]])
        p.setXRange(0, max(v for _, v in items) * 1.1, padding=0)
        p.setYRange(-0.6, len(items) - 0.4, padding=0)

    def _draw_curves(self) -> None:
        p = self.curves
        p.clear()
        self.curves_legend.clear()
        p.setLabel("left", metric_label(self.metric), color=self._fg.name(), **{"font-size": "8pt"})
        chosen = {r.number for r in self.selected}
        if not self.records and not self.live:
            _placeholder(p, "the metric per epoch of every trial;\nselect trials in the table to compare them")
            return
        p.enableAutoRange()
        for number in sorted(set(self.records) | set(self.live)):
            if number in chosen:
                continue
            points = self._points(number)
            if points:
                xs, ys = zip(*points)
                p.plot(list(xs), list(ys), pen=pg.mkPen(GREY, width=1))
        for i, r in enumerate(self.selected):
            rows = read_metrics(r.run_dir) if r.run_dir else []
            c = QColor(color(i))
            xs, ys = column(rows, self.metric)
            if not xs:
                points = self._points(r.number)
                xs, ys = [e for e, _ in points], [v for _, v in points]
            if xs:
                p.plot(xs, ys, pen=pg.mkPen(c, width=2.5), symbol="o", symbolSize=5, symbolPen=None,
                       symbolBrush=c, name=f"trial {r.number}")
            other = "train_" + self.metric[4:] if self.metric.startswith("val_") else None
            if other:
                xs, ys = column(rows, other)
                if xs:
                    p.plot(xs, ys, pen=pg.mkPen(c, width=1.5, style=Qt.PenStyle.DashLine))

    def _points(self, number: int) -> list[tuple[int, float]]:
        if number in self.live:
            return self.live[number]
        r = self.records.get(number)
        return sorted(r.intermediate.items()) if r is not None else []

    def save_png(self, path: str) -> bool:
        return self.grab().save(str(path))


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    text = str(value)
    return text if len(text) <= 14 else text[:13] + "…"


class ComparePlots(QWidget):
    """Loss and the first validation metric of every trial of a Compare, one colour per choice."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = pg.GraphicsLayoutWidget()
        self.view.setMinimumSize(360, 200)
        fg, bg = _colors(self)
        self._fg = fg
        self.view.setBackground(bg)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        self.loss = _style(self.view.addPlot(row=0, col=0), "Loss: validation solid, training dashed", fg, "epoch")
        self.metric_plot = _style(self.view.addPlot(row=0, col=1), "Validation metric", fg, "epoch")
        self.loss_legend = _legend_below(self.loss, fg)
        self.metric_legend = _legend_below(self.metric_plot, fg)
        self.reset()

    def reset(self, path: str = "", names: dict[str, str] | None = None, metric: str | None = None) -> None:
        """A new Compare over `path`; `names` gives the legend's word for each choice's label."""
        self.path = path
        self.names = dict(names or {})
        self.metric = metric
        self.series: dict[int, dict[str, list[tuple[int, float]]]] = {}
        self.labels: dict[int, str] = {}
        self._title()
        self.redraw()

    def _title(self) -> None:
        text = metric_label(self.metric) if self.metric else "validation metric"
        self.metric_plot.setTitle(text[:1].upper() + text[1:], color=self._fg.name(), size="9pt")

    def start_trial(self, number: int, values: dict[str, Any]) -> None:
        value = values.get(self.path)
        lab = optuna_label(value)
        self.labels[number] = self.names.get(str(lab), str(lab))
        self.series.setdefault(number, {})
        self.redraw()

    def add_epochs(self, epochs: list[Any]) -> None:
        for e in epochs:
            if e.number not in self.labels:
                continue
            keys = ["train_loss", "val_loss"]
            if self.metric is None:
                self.metric = next((k for k in e.metrics if k.startswith("val_") and k != "val_loss"), None)
                self._title()
            if self.metric:
                keys.append(self.metric)
            for k in keys:
                v = e.metrics.get(k)
                if isinstance(v, (int, float)) and math.isfinite(v):
                    self.series[e.number].setdefault(k, []).append((e.epoch, float(v)))
        if epochs:
            self.redraw()

    def redraw(self) -> None:
        for plot, legend in ((self.loss, self.loss_legend), (self.metric_plot, self.metric_legend)):
            plot.clear()
            legend.clear()
        order = list(self.names.values())  # the order the choices were given in: one colour each
        numbers = sorted(self.labels, key=lambda n: (order.index(self.labels[n]) if self.labels[n] in order
                                                     else len(order), n))
        for number in numbers:
            i = order.index(self.labels[number]) if self.labels[number] in order else len(order) + number
            c = QColor(color(i))
            data = self.series.get(number, {})
            name = self.labels[number]
            for key, style, plot, named in (("val_loss", Qt.PenStyle.SolidLine, self.loss, True),
                                            ("train_loss", Qt.PenStyle.DashLine, self.loss, False),
                                            (self.metric, Qt.PenStyle.SolidLine, self.metric_plot, True)):
                points = data.get(key or "", [])
                if points:
                    xs, ys = zip(*points)
                    plot.plot(np.array(xs, float), np.array(ys, float), pen=pg.mkPen(c, width=2, style=style),
                              name=name if named else None)

    def curve_counts(self) -> dict[str, int]:
        return {"loss": len(self.loss.listDataItems()), "metric": len(self.metric_plot.listDataItems())}


__all__ = ["StudyPlots", "ComparePlots"]
