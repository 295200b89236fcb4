"""Live training plots (pyqtgraph): loss, metrics, learning rate, per-layer gradient norms, speed, results.

`LivePlots.apply(update)` takes one worker `Update` (up to 10 a second) and
appends its points; the plots redraw on their own cadence (`cadence.PLOT_INTERVAL_S`,
on an injectable clock), only the panels whose curves received points, and at
once when a run pauses, stops or ends. A redraw is made cheap rather than
rationed: every series is a preallocated numpy buffer that halves its
resolution (mean of neighbouring points) when full, curves clip to the view and
downsample to the pixels shown, the x axes are fixed for the run and a y range
changes only when the data leaves it, so most repaints reuse every axis as is.

The x axis of every live plot is the epoch, fractional within an epoch
(epoch 3, step 10 of 20 is x = 2.5), so step-level and epoch-level values line
up. The training loss per step is derived from the trainer's running epoch mean
(the mean over the steps between two Progress events), drawn faintly, with an
exponential moving average on top; epoch means of train and validation loss are
drawn with markers. After a run, the last panel shows a confusion matrix
(classification) or predicted against true values (regression); a click on a
cell of the matrix emits `cellClicked(true class, predicted class)`.

The six panels form 2 columns x 3 rows, or 3 x 2 when the widget is wide and
low (docked under the editor's canvas), so each panel keeps a readable shape.
"""
from __future__ import annotations

import math
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QGraphicsItem, QVBoxLayout, QWidget

from nodetrainer.training.events import EpochEnded

from .cadence import PLOT_INTERVAL_S, Cadence, Clock
from .outcome import metric_label

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf"]
TRAIN_COLOR, VAL_COLOR = PALETTE[0], PALETTE[1]
SMOOTHING = 0.8  # EMA weight of the smoothed step loss (started at the first value, so unbiased)
SMOOTHING_SPAN = 0.05  # epochs: points further apart than this are smoothed less
STICKY_FILL = 0.5  # a y range is kept while the data fills at least this share of it...
STICKY_PAD = 0.12  # ...and set with this much room above and below when it changes
AXIS_WIDTH = 54  # pixels for the y axis labels
MAX_POINTS = 4000  # per series before it halves its resolution
MAX_LABELLED_CLASSES = 20
PANEL_WIDTH = 300  # the preferred width of every panel: columns split the space equally
WIDE_RATIO = 2.0  # wider than this many times its height (a dock under the editor): 3 columns x 2 rows


def color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


class _LogAxis(pg.AxisItem):
    """A log axis that labels only 1-2-5 mantissas (0.01, 0.02, 0.05, 0.1, ...): no crowded minor labels."""

    def logTickValues(self, minVal, maxVal, size, stdTicks):  # noqa: N802,N803 - pyqtgraph override
        levels = super().logTickValues(minVal, maxVal, size, stdTicks)
        major = {round(v, 6) for spacing, values in levels if spacing is not None for v in values}
        return [(spacing, values if spacing is not None else [v for v in values if round(v, 6) not in major])
                for spacing, values in levels]  # a decade is a major tick: not drawn again as a minor one

    def logTickStrings(self, values, scale, spacing):  # noqa: N802 - pyqtgraph override
        strings = super().logTickStrings(values, scale, spacing)
        out = []
        for v, text in zip(values, strings):
            mantissa = round(10 ** (v - math.floor(v + 1e-9)), 3)
            out.append(text if any(abs(mantissa - m) < 0.02 for m in (1.0, 2.0, 5.0)) else "")
        return out


class Series:
    """An append-only (x, y) series in a numpy buffer; halves its resolution when `max_points` is reached."""

    def __init__(self, max_points: int = MAX_POINTS) -> None:
        self.max_points = max(16, max_points - max_points % 2)
        self._x = np.empty(self.max_points)
        self._y = np.empty(self.max_points)
        self.n = 0
        self.dirty = False

    def append(self, x: float, y: float) -> None:
        if self.n == self.max_points:
            half = self.max_points // 2
            self._x[:half] = self._x.reshape(half, 2).mean(axis=1)
            self._y[:half] = self._y.reshape(half, 2).mean(axis=1)
            self.n = half
        self._x[self.n] = x
        self._y[self.n] = y
        self.n += 1
        self.dirty = True

    def clear(self) -> None:
        self.n = 0
        self.dirty = True

    @property
    def x(self) -> np.ndarray:
        return self._x[: self.n]

    @property
    def y(self) -> np.ndarray:
        return self._y[: self.n]

    def __len__(self) -> int:
        return self.n


class _Curve:
    """A Series bound to a PlotDataItem."""

    def __init__(self, plot: pg.PlotItem, name: str | None, pen: Any, symbol: str | None = None,
                 max_points: int = MAX_POINTS, positive: bool = False, brush: Any = None) -> None:
        kwargs: dict[str, Any] = {"pen": pen, "name": name}
        if symbol:
            kwargs.update(symbol=symbol, symbolSize=6, symbolPen=None, symbolBrush=brush or pen.color())
        self.item = plot.plot(**kwargs)
        self.item.setClipToView(True)
        self.item.setDownsampling(auto=True, method="peak")
        self.series = Series(max_points)
        self.positive = positive  # log-scale plots: leave out values <= 0 and non-finite ones

    def add(self, x: float, y: float) -> None:
        if not (math.isfinite(x) and math.isfinite(y)) or (self.positive and y <= 0):
            return
        self.series.append(x, y)

    def redraw(self) -> bool:
        if not self.series.dirty:
            return False
        self.series.dirty = False
        if len(self.series):
            self.item.setData(self.series.x, self.series.y)
        else:
            self.item.setData([], [])
        return True

    def __len__(self) -> int:
        return len(self.series)


def _legend_below(plot: pg.PlotItem, fg: QColor) -> pg.LegendItem:
    """A legend in its own row under the plot's x axis: it never covers a curve, and the plot's new curves
    (named ones) join it."""
    legend = pg.LegendItem(offset=None, labelTextSize="8pt", labelTextColor=fg, colCount=3, horSpacing=4,
                           verSpacing=-8)
    legend.setMinimumWidth(0)  # a long legend is clipped rather than widening its column
    plot.layout.addItem(legend, 4, 1, alignment=Qt.AlignmentFlag.AlignHCenter)
    plot.legend = legend
    return legend


def _pen(c: str, width: float = 2.0, style: Qt.PenStyle = Qt.PenStyle.SolidLine, alpha: int = 255) -> Any:
    q = QColor(c)
    q.setAlpha(alpha)
    return pg.mkPen(q, width=width, style=style)


class _TimedView(pg.GraphicsLayoutWidget):
    """Counts paints and what they cost the UI thread (for the benchmarks)."""

    def __init__(self) -> None:
        super().__init__()
        self.paint_cost = 0.0  # CPU seconds, smoothed
        self.paints = 0

    def paintEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        t = time.thread_time()
        super().paintEvent(event)
        cost = time.thread_time() - t
        self.paints += 1
        self.paint_cost = cost if self.paints == 1 else 0.7 * self.paint_cost + 0.3 * cost


class LivePlots(QWidget):
    """Six panels in one pyqtgraph layout; fed by `apply(update)`; `save_png(path)` writes what is shown."""

    cellClicked = Signal(int, int)  # true class, predicted class: a cell of the confusion matrix

    def __init__(self, parent: QWidget | None = None, clock: Clock = time.monotonic) -> None:
        super().__init__(parent)
        self.view = _TimedView()
        self.view.scene().sigMouseClicked.connect(self._scene_clicked)
        self._confusion_size = 0  # classes of the confusion matrix shown (0: none)
        self._redraw_timer = QTimer(self)
        self._redraw_timer.setSingleShot(True)
        self._redraw_timer.timeout.connect(self.redraw)
        self.cadence = Cadence(PLOT_INTERVAL_S, clock)
        self.redraws = 0
        self.view.setMinimumSize(360, 180)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        fg, bg = self._colors()
        self.view.setBackground(bg)
        self.loss = self._plot(0, 0, "Loss", fg)
        self.metrics = self._plot(0, 1, "Validation metrics", fg)
        self.lr = self._plot(1, 0, "Learning rate", fg)  # linear from 0: a schedule reads as proportions
        self.grads = self._plot(1, 1, "Gradient norm per layer", fg, log=True)
        self.grads.setLogMode(False, True)
        self.speed = self._plot(2, 0, "Samples/s", fg)
        self.result = self._plot(2, 1, "Result", fg, xlabel="")
        self.panels = [self.loss, self.metrics, self.lr, self.grads, self.speed, self.result]
        self.columns = 2
        for p in (self.loss, self.metrics, self.lr, self.grads, self.speed):
            _legend_below(p, fg)
        self.result.hideAxis("bottom")
        self.result.hideAxis("left")
        self._fg = fg
        self._result_items: list[Any] = []
        self._placeholder: pg.TextItem | None = None
        self.reset()

    # -- building -------------------------------------------------------------------------
    def resizeEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self.arrange()

    def arrange(self) -> None:
        """Lays the panels out in 2 columns, or 3 when the widget is wide and low."""
        columns = 3 if self.width() >= WIDE_RATIO * max(1, self.height()) else 2
        if columns == self.columns:
            return
        self.columns = columns
        layout = self.view.ci
        for plot in self.panels:
            layout.removeItem(plot)
        for i, plot in enumerate(self.panels):
            layout.addItem(plot, row=i // columns, col=i % columns)
        grid = layout.layout
        for col in range(3):  # equal columns, whatever their legends hold (see _plot: one preferred width)
            grid.setColumnStretchFactor(col, 1 if col < columns else 0)

    def _colors(self) -> tuple[QColor, QColor]:
        pal = self.palette()
        return pal.color(QPalette.ColorRole.WindowText), pal.color(QPalette.ColorRole.Base)

    def _plot(self, row: int, col: int, title: str, fg: QColor, log: bool = False, xlabel: str = "epoch") -> pg.PlotItem:
        plot = self.view.addPlot(row=row, col=col, axisItems={"left": _LogAxis("left")} if log else None)
        plot.setPreferredWidth(PANEL_WIDTH)  # every panel alike, so columns share the width equally
        plot.setTitle(title, color=fg.name(), size="9pt")
        plot.showGrid(x=False, y=False)  # a grid makes every axis repaint with every curve (see _sticky_y)
        font = QFont()
        font.setPointSize(8)
        for name in ("left", "bottom"):
            axis = plot.getAxis(name)
            axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)  # repaints blit unless ticks change
            if name == "left":
                axis.setWidth(AXIS_WIDTH)  # labels of another width must not re-lay out (and repaint) every plot
            axis.setPen(pg.mkPen(fg))
            axis.setTextPen(pg.mkPen(fg))
            axis.setStyle(tickFont=font)
        if xlabel:
            plot.setLabel("bottom", xlabel, color=fg.name(), **{"font-size": "8pt"})
        plot.setLogMode(False, False)
        plot.setMenuEnabled(True)
        plot.getViewBox().setMouseEnabled(x=True, y=False)
        return plot

    def reset(self, steps_per_epoch: int = 1, metric_names: list[str] | None = None, train_samples: int = 0) -> None:
        """Clears every panel for a new run."""
        self.steps_per_epoch = max(1, int(steps_per_epoch))
        self.train_samples = int(train_samples)
        self.cadence.reset()
        self._x_first = 0.0
        self._has_history = False
        for plot in (self.loss, self.metrics, self.lr, self.grads, self.speed):
            plot.enableAutoRange(x=True, y=True)
            plot.clear()
            if plot.legend is not None:
                plot.legend.clear()
        self.step_raw = _Curve(self.loss, None, _pen(TRAIN_COLOR, 1, alpha=70))
        self.step_smooth = _Curve(self.loss, "train, smoothed", _pen(TRAIN_COLOR, 2))
        self.epoch_train = _Curve(self.loss, "train epoch", _pen(TRAIN_COLOR, 1.5, Qt.PenStyle.DashLine), "o",
                                  brush=TRAIN_COLOR)
        self.epoch_val = _Curve(self.loss, "validation", _pen(VAL_COLOR, 2), "o", brush=VAL_COLOR)
        self.lr_curve = _Curve(self.lr, None, _pen(PALETTE[2], 2))
        self.speed_curve = _Curve(self.speed, "during epochs", _pen(PALETTE[4], 2), positive=True)
        self.speed_epoch = _Curve(self.speed, "epoch incl. validation", _pen(PALETTE[4], 1.5, Qt.PenStyle.DashLine),
                                  "o", brush=PALETTE[4], positive=True)
        self.metric_curves: dict[str, _Curve] = {}
        self.grad_curves: dict[str, _Curve] = {}
        for name in metric_names or []:
            self._metric_curve(f"val_{name}")
        self._ema: float | None = None
        self._ema_x = 0.0
        self._last_progress: tuple[int, int, float] | None = None  # (epoch, step, running mean)
        self.show_result_placeholder("The confusion matrix or predicted-vs-true plot\nappears when training ends")

    def _metric_curve(self, key: str) -> _Curve:
        curve = self.metric_curves.get(key)
        if curve is None:
            i = len(self.metric_curves)
            style = Qt.PenStyle.DashLine if key.startswith("train_") else Qt.PenStyle.SolidLine
            curve = _Curve(self.metrics, metric_label(key), _pen(color(i + 2), 2, style), "o", brush=color(i + 2))
            self.metric_curves[key] = curve
        return curve

    def _grad_curves_for(self, nodes: list[str]) -> None:
        """Curves for the layers of the first gradient report, in the network's order. Up to ten layers get
        their own colours and names in the legend; more are coloured by depth (first to last along a colour
        map), and the legend names the first and the last, so a gradient that vanishes in early layers or
        explodes in late ones reads at a glance."""
        new = [n for n in nodes if n not in self.grad_curves]
        if not new:
            return
        count = len(self.grad_curves) + len(new)
        by_depth = count > len(PALETTE)
        cmap = pg.colormap.get("viridis") if by_depth else None
        for node in new:
            i = len(self.grad_curves)
            c = cmap.map(i / max(1, count - 1), mode="qcolor").name() if cmap is not None else color(i)
            named = not by_depth or i in (0, count - 1)
            label = node if not by_depth else f"{node} ({'first' if i == 0 else 'last'} of {count} layers)"
            self.grad_curves[node] = _Curve(self.grads, label if named else None, _pen(c, 1.5), positive=True)

    # -- feeding ---------------------------------------------------------------------------
    def apply(self, update: Any) -> None:
        """Adds the points of one worker Update and redraws what changed."""
        if update.started is not None:
            self.steps_per_epoch = max(1, update.started.steps_per_epoch)
            first = 0 if self._has_history else update.started.start_epoch - 1
            self.set_epoch_range(first, update.started.total_epochs)
        spe = self.steps_per_epoch
        for p in update.progress:
            x = p.epoch - 1 + p.step / spe
            last = self._last_progress
            if last is not None and last[0] == p.epoch and p.step > last[1]:
                interval = (p.loss * p.step - last[2] * last[1]) / (p.step - last[1])
            else:
                interval = p.loss
            self._last_progress = (p.epoch, p.step, p.loss)
            if math.isfinite(interval):
                self.step_raw.add(x, interval)
                if self._ema is None:
                    self._ema = interval
                else:  # sparse points (fast epochs) are barely smoothed: the weight decays with the x gap
                    gap = max(0.0, x - self._ema_x)
                    w = SMOOTHING ** max(1.0, gap / SMOOTHING_SPAN)
                    self._ema = w * self._ema + (1 - w) * interval
                self._ema_x = x
                self.step_smooth.add(x, self._ema)
            self.lr_curve.add(x, p.lr)
            self.speed_curve.add(x, p.samples_per_s)
        for e in update.epochs:
            x = float(e.epoch)
            m = e.metrics
            if "train_loss" in m:
                self.epoch_train.add(x, m["train_loss"])
            if "val_loss" in m:
                self.epoch_val.add(x, m["val_loss"])
            for key, value in m.items():
                if key.endswith("_loss") or not key.startswith(("val_", "train_")):
                    continue
                self._metric_curve(key).add(x, value)
            self.lr_curve.add(x, e.lr)
            if self.train_samples and e.seconds > 0:
                self.speed_epoch.add(x, self.train_samples / e.seconds)
        for g in update.grads:
            x = g.step / spe
            self._grad_curves_for(list(g.grad_norms))
            for node, value in g.grad_norms.items():
                self.grad_curves[node].add(x, value)
        self.schedule_redraw()

    def add_history(self, rows: list[dict[str, Any]]) -> None:
        """The earlier epochs of a resumed run (its metrics.csv rows), drawn before the new ones arrive."""
        epochs = []
        for row in rows:
            if not isinstance(row.get("epoch"), (int, float)):
                continue
            metrics = {k: float(v) for k, v in row.items()
                       if k not in ("epoch", "lr", "seconds") and isinstance(v, (int, float))}
            lr, seconds = row.get("lr"), row.get("seconds")
            epochs.append(EpochEnded(int(row["epoch"]), metrics, float(lr) if isinstance(lr, (int, float)) else math.nan,
                                     float(seconds) if isinstance(seconds, (int, float)) else 0.0))
        self._has_history = bool(epochs)
        self.apply(SimpleNamespace(started=None, progress=[], epochs=epochs, grads=[]))

    def set_epoch_range(self, first: float, last: float) -> None:
        """Fixes the x axes to the run's epochs: they never change while it trains (cheap repaints)."""
        self._x_first = first
        for plot in (self.loss, self.metrics, self.lr, self.grads, self.speed):
            plot.enableAutoRange(x=False)
            plot.setXRange(first, max(last, first + 1), padding=0.02)

    def _fit_x(self) -> None:
        """At the end of a run: the x axes end where the run ended (an early stop leaves no empty epochs)."""
        ends = [float(c.series.x[-1]) for curves in self._curves().values() for c in curves if len(c.series)]
        if ends:
            first = self._x_first
            for plot in (self.loss, self.metrics, self.lr, self.grads, self.speed):
                plot.setXRange(first, max(max(ends), first + 1), padding=0.02)

    def schedule_redraw(self) -> None:
        """Redraws when the cadence allows (at once when due: after the update is handled)."""
        if self._redraw_timer.isActive():
            return
        self._redraw_timer.start(round(self.cadence.wait() * 1000))

    def redraw(self, final: bool = False) -> int:
        """Draws what arrived now (a pause, a stop, the end of a run, or the cadence's turn); `final` (the run
        is over) also fits every y range to its data. Returns how many curves changed."""
        self._redraw_timer.stop()
        self.cadence.mark()
        self.redraws += 1
        return self._redraw(final)

    def _curves(self) -> dict[Any, list[_Curve]]:
        return {self.loss: [self.step_raw, self.step_smooth, self.epoch_train, self.epoch_val],
                self.metrics: list(self.metric_curves.values()), self.lr: [self.lr_curve],
                self.grads: list(self.grad_curves.values()), self.speed: [self.speed_curve, self.speed_epoch]}

    def _redraw(self, final: bool = False) -> int:
        changed = 0
        for plot, curves in self._curves().items():
            if final or any(c.series.dirty for c in curves):
                changed += sum(c.redraw() for c in curves)
                self._sticky_y(plot, curves, fit=final)
        if final:
            self._fit_x()
        return changed

    def _sticky_y(self, plot: pg.PlotItem, curves: list[_Curve], fit: bool = False) -> None:
        """Sets the y range only when the data leaves it or fills under half of it: most redraws then keep
        the axes as they are, and an unchanged axis repaints from its cache instead of laying out its labels."""
        log = plot.ctrl.logYCheck.isChecked()
        ys = [c.series.y for c in curves if len(c.series)]
        if not ys:
            return
        y = np.concatenate(ys)
        if log:
            y = np.log10(y[y > 0])
            if not len(y):
                return
        lo, hi = float(y.min()), float(y.max())
        if plot is self.lr and not log:
            lo = 0.0  # a learning rate from zero: its changes read as proportions
        (cur_lo, cur_hi) = plot.getViewBox().viewRange()[1]
        span = hi - lo
        inside = cur_lo <= lo and hi <= cur_hi
        if not fit and inside and span >= STICKY_FILL * (cur_hi - cur_lo) \
                and not plot.getViewBox().autoRangeEnabled()[1]:
            return
        pad = (STICKY_PAD if not fit else 0.05) * span if span > 0 else max(abs(hi) * 0.1, 1e-12)
        plot.enableAutoRange(y=False)
        plot.setYRange(lo - (0 if plot is self.lr and not log else pad), hi + pad, padding=0)

    def point_counts(self) -> dict[str, int]:
        """Points per panel (tests, benchmarks)."""
        return {
            "loss_step": len(self.step_smooth), "loss_epoch": len(self.epoch_train), "val_loss": len(self.epoch_val),
            "metrics": sum(len(c) for c in self.metric_curves.values()), "lr": len(self.lr_curve),
            "grads": sum(len(c) for c in self.grad_curves.values()),
            "speed": len(self.speed_curve) + len(self.speed_epoch),
            "result": len(self._result_items),
        }

    # -- results ----------------------------------------------------------------------------
    def _clear_result(self) -> None:
        self._confusion_size = 0
        for item in self._result_items:
            self.result.removeItem(item)
        self._result_items = []
        if self._placeholder is not None:
            self.result.removeItem(self._placeholder)
            self._placeholder = None

    def show_result_placeholder(self, text: str) -> None:
        self._clear_result()
        self.result.setTitle("Result", color=self._fg.name(), size="9pt")
        self.result.hideAxis("bottom")
        self.result.hideAxis("left")
        self.result.getViewBox().invertY(False)
        self._placeholder = pg.TextItem(text, color=self._fg.name(), anchor=(0.5, 0.5))
        self.result.addItem(self._placeholder)
        self._placeholder.setPos(0.5, 0.5)
        self.result.setRange(xRange=(0, 1), yRange=(0, 1), padding=0)

    def show_predictions(self, preds: Any) -> None:
        """A confusion matrix (classification) or predicted against true values (regression)."""
        self._clear_result()
        if preds.task == "classification":
            self._confusion(preds)
        else:
            self._scatter(preds)

    def _scene_clicked(self, event: Any) -> None:
        if not self._confusion_size or event.button() != Qt.MouseButton.LeftButton:
            return
        box = self.result.getViewBox()
        if not box.sceneBoundingRect().contains(event.scenePos()):
            return
        point = box.mapSceneToView(event.scenePos())
        cell = self.cell_at(point.x(), point.y())
        if cell is not None:
            self.cellClicked.emit(*cell)

    def cell_at(self, x: float, y: float) -> tuple[int, int] | None:
        """(true, predicted) of the confusion-matrix cell at view coordinates (x, y), or None outside it."""
        n = self._confusion_size
        if not n or not (0 <= x < n and 0 <= y < n):
            return None
        return int(y), int(x)

    def cell_center(self, true_class: int, predicted: int) -> Any:
        """The scene position of a cell's centre (tests click there)."""
        return self.result.getViewBox().mapViewToScene(pg.Point(predicted + 0.5, true_class + 0.5))

    def _confusion(self, preds: Any) -> None:
        counts = preds.confusion()
        n = counts.shape[0]
        self._confusion_size = n
        rows = counts.sum(axis=1, keepdims=True)
        norm = np.divide(counts, np.maximum(rows, 1), dtype=np.float64)
        image = pg.ImageItem(norm.T)  # ImageItem is indexed [x, y]: x = predicted, y = true
        image.setColorMap(pg.colormap.get("viridis"))
        image.setLevels((0.0, 1.0))
        self.result.addItem(image)
        self._result_items.append(image)
        if n <= MAX_LABELLED_CLASSES:
            for t in range(n):
                for p in range(n):
                    if counts[t, p] == 0:
                        continue
                    text = pg.TextItem(str(int(counts[t, p])), color="#000000" if norm[t, p] > 0.55 else "#ffffff",
                                       anchor=(0.5, 0.5))
                    text.setPos(p + 0.5, t + 0.5)
                    self.result.addItem(text)
                    self._result_items.append(text)
        names = preds.class_names or [str(i) for i in range(n)]
        ticks = [[(i + 0.5, _short(names[i])) for i in range(n)]] if n <= MAX_LABELLED_CLASSES else None
        for side, label in (("bottom", "predicted"), ("left", "true")):
            self.result.showAxis(side)
            axis = self.result.getAxis(side)
            axis.setTicks(ticks)
            self.result.setLabel(side, label, color=self._fg.name(), **{"font-size": "8pt"})
        self.result.getViewBox().invertY(True)
        self.result.setRange(xRange=(0, n), yRange=(0, n), padding=0.02)
        self.result.setTitle(f"Confusion matrix ({preds.split}, accuracy {preds.accuracy:.1%})",
                             color=self._fg.name(), size="9pt")

    def _scatter(self, preds: Any) -> None:
        t = preds.y_true.reshape(len(preds.y_true), -1)[:, 0]
        p = preds.y_pred.reshape(len(preds.y_pred), -1)[:, 0]
        lo, hi = float(min(t.min(), p.min())), float(max(t.max(), p.max()))
        line = pg.PlotDataItem([lo, hi], [lo, hi], pen=_pen("#7f7f7f", 1, Qt.PenStyle.DashLine))
        dots = pg.ScatterPlotItem(t, p, size=5, pen=None, brush=pg.mkBrush(QColor(PALETTE[0]).lighter(110)))
        for item in (line, dots):
            self.result.addItem(item)
            self._result_items.append(item)
        for side, label in (("bottom", "true"), ("left", "predicted")):
            self.result.showAxis(side)
            self.result.getAxis(side).setTicks(None)
            self.result.setLabel(side, label, color=self._fg.name(), **{"font-size": "8pt"})
        self.result.getViewBox().invertY(False)
        self.result.setRange(xRange=(lo, hi), yRange=(lo, hi))
        ss_res = float(((t - p) ** 2).sum())
        ss_tot = float(((t - t.mean()) ** 2).sum())
        r2 = 1 - ss_res / ss_tot if ss_tot > 0 else float("nan")
        self.result.setTitle(f"Predicted vs true ({preds.split}, R² {r2:.3f})", color=self._fg.name(), size="9pt")

    # -- export ---------------------------------------------------------------------------------
    def save_png(self, path: str | Path) -> bool:
        """Writes the panels as shown to a PNG file."""
        return bool(self.view.grab().save(str(path), "PNG"))


def _short(name: str, width: int = 8) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


__all__ = ["LivePlots", "Series", "PALETTE", "color"]
