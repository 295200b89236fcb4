"""Export a run as an INT8 ONNX model: onnxruntime's static quantization, calibrated on training samples.

The fp32 model is the `--to onnx` export of the run (normalization included, so
both models take raw samples). onnxruntime's quantization tools prepare it
(`quant_pre_process`), observe the activations on up to 1,000 training samples
(seeded, MinMax calibration) and write a QDQ model with INT8 weights (per
channel) and activations. Both models then run on the run's test split (its
validation split when it has no test split) under onnxruntime on this CPU: the
report holds the run's metrics for each, both file sizes and samples/s of each.
It is printed and written beside the model as `OUT.json`.
"""
from __future__ import annotations

import json
import math
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch

from ..errors import Problem
from .result import ExportRefused, ExportResult, write_all
from .source import ExportSource
from .to_onnx import build_onnx

CALIBRATION_SAMPLES = 1000
CALIBRATION_BATCH = 100
SPEED_BATCH = 64
SPEED_MIN_SECONDS = 0.5  # each model runs over the split until this much time has passed (at least once)


def int8_export(source: ExportSource, out: Path) -> ExportResult:
    if not source.from_run:
        raise ExportRefused(Problem("onnx-int8 exports a run: give a run folder (calibration and the test metric "
                                    "use the run's data), e.g. runs/NAME/TIMESTAMP", str(source.path)))
    fp32, diff = build_onnx(source)
    data = RunData.load(source)
    int8 = quantize(fp32, data.calibration())
    fp32_metrics, fp32_speed = data.score(fp32)
    int8_metrics, int8_speed = data.score(int8)
    report = {
        "run": str(source.path), "split": data.split, "samples": data.count,
        "metric": data.headline, "fp32": fp32_metrics, "int8": int8_metrics,
        "fp32_bytes": len(fp32), "int8_bytes": len(int8), "size_ratio": round(len(int8) / len(fp32), 4),
        "fp32_samples_per_s": round(fp32_speed, 1), "int8_samples_per_s": round(int8_speed, 1),
        "speed_ratio": round(int8_speed / fp32_speed, 3) if fp32_speed else None,
        "speed_batch": SPEED_BATCH, "calibration_samples": data.calibration_count,
        "fp32_max_abs_diff_from_torch": diff, "onnxruntime": _ort_version(),
    }
    json_path = out.with_name(out.name + ".json")
    text = json.dumps(_json_safe(report), indent=2) + "\n"
    written = write_all([(out, int8), (json_path, text.encode("utf-8"))])
    key = data.headline
    lines = [f"wrote {out} and {json_path.name}",
             f"{data.split} {key}: fp32 {fp32_metrics.get(key, float('nan')):.4g}, "
             f"int8 {int8_metrics.get(key, float('nan')):.4g} ({data.count} samples)",
             f"size: fp32 {_size(len(fp32))}, int8 {_size(len(int8))} ({len(int8) / len(fp32):.2f}x)",
             f"onnxruntime on this CPU, batch {SPEED_BATCH}: fp32 {fp32_speed:,.0f} samples/s, "
             f"int8 {int8_speed:,.0f} samples/s"]
    return ExportResult("onnx-int8", written, diff, report=report, lines=lines)


def quantize(fp32: bytes, calibration: list[dict[str, np.ndarray]]) -> bytes:
    """Static QDQ INT8 quantization of an ONNX model (bytes) with onnxruntime's tools."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.feeds: Iterator[dict[str, np.ndarray]] = iter(calibration)

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.feeds, None)

    with tempfile.TemporaryDirectory(prefix="nodetrainer-int8-") as tmp:
        folder = Path(tmp)
        (folder / "fp32.onnx").write_bytes(fp32)
        model = folder / "fp32.onnx"
        try:
            quant_pre_process(str(model), str(folder / "prepared.onnx"))
            model = folder / "prepared.onnx"
        except Exception:
            pass  # preparing is an optimization; quantizing the model as exported still works
        try:
            quantize_static(str(model), str(folder / "int8.onnx"), Reader(), quant_format=QuantFormat.QDQ,
                            per_channel=True, activation_type=QuantType.QInt8, weight_type=QuantType.QInt8)
        except Exception as exc:
            text = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            raise ExportRefused(f"onnxruntime could not quantize the model: {text}; nothing was written") from None
        return (folder / "int8.onnx").read_bytes()


class RunData:
    """The run's data as raw samples: training samples to calibrate on, the held-out split to score."""

    def __init__(self, source: ExportSource, dataset: Any, config: Any):
        self.source = source
        self.dataset = dataset
        self.config = config
        self.split = "test" if dataset.test is not None and len(dataset.test) else "val"
        held = dataset.test if self.split == "test" else dataset.val
        if held is None or not len(held):
            raise ExportRefused(Problem("the run's data has no test or validation split to measure the INT8 "
                                        "model on; set data.split.test", str(source.path)))
        self.held = held
        self.count = len(held)
        self.metric_names = config.metric_names(dataset.task)
        self.headline = next((m for m in self.metric_names), "loss")
        self.calibration_count = 0

    @classmethod
    def load(cls, source: ExportSource) -> "RunData":
        from ..errors import DataError
        from ..training.run import load_graph_data
        graph = source.graph
        config = graph.training_config()
        data_dir = Path(source.checkpoint.get("data_dir") or source.path)
        try:
            dataset = load_graph_data(graph, data_dir, config)
        except DataError as exc:
            raise ExportRefused([p.located(str(source.path)) for p in exc.problems]) from None
        return cls(source, dataset, config)

    def _raw(self, split: Any, index: torch.Tensor) -> tuple[dict[str, np.ndarray], torch.Tensor]:
        """Samples `index` of a split as raw features by Input name (the loader's normalization undone) and
        targets."""
        if self.dataset.stream is not None:
            pairs = [self.dataset.stream[int(split.x[i])] for i in index.tolist()]
            xs: tuple[torch.Tensor, ...] = (torch.stack([torch.as_tensor(p[0]) for p in pairs]),)
            y = split.y[index]
        else:
            xs, y = tuple(x[index] for x in split.xs), split.y[index]
        norms = self.dataset.normalizers(self.source.input_ids)
        feed = {}
        for name, x in zip(self.source.input_ids, xs):
            norm = norms[name]
            if norm.mode != "none" and x.is_floating_point() and norm.shift is not None:
                x = x * norm.scale + norm.shift
            feed[name] = x.numpy()
        return feed, y

    def calibration(self) -> list[dict[str, np.ndarray]]:
        train = self.dataset.train
        n = min(CALIBRATION_SAMPLES, len(train))
        pick = torch.randperm(len(train), generator=torch.Generator().manual_seed(0))[:n].sort().values
        self.calibration_count = n
        return [self._raw(train, pick[i:i + CALIBRATION_BATCH])[0] for i in range(0, n, CALIBRATION_BATCH)]

    def score(self, model: bytes) -> tuple[dict[str, float], float]:
        """(the run's loss and metrics of `model` on the held-out split, samples/s under onnxruntime)."""
        import onnxruntime as ort
        from ..training.losses import build_loss
        from ..training.metrics import MetricAccumulator

        options = ort.SessionOptions()
        options.log_severity_level = 3
        session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        outputs = self.source.output_ids
        out_index = outputs.index(self.config.output) if self.config.output in outputs else 0
        batches = [self._raw(self.held, torch.arange(i, min(i + SPEED_BATCH, self.count)))
                   for i in range(0, self.count, SPEED_BATCH)]
        acc = MetricAccumulator(self.metric_names, self.dataset.task, "cpu", self.dataset.num_classes)
        loss_fn = None
        for x, y in batches:
            out = torch.from_numpy(session.run(None, x)[out_index])
            if loss_fn is None:
                loss_fn = build_loss(self.config.loss, int(out.shape[-1]) if out.dim() > 1 else 1,
                                     self.config.label_smoothing)
            acc.update(out, y, loss_fn(out, y))
        feeds = [x for x, _ in batches]
        done, start = 0, time.perf_counter()
        while True:
            for feed in feeds:
                session.run(None, feed)
            done += self.count
            elapsed = time.perf_counter() - start
            if elapsed >= SPEED_MIN_SECONDS:
                break
        return acc.compute(), done / elapsed


def _size(n: int) -> str:
    return f"{n / 2**20:.2f} MB" if n >= 2**20 else f"{n / 2**10:.1f} kB"


def _ort_version() -> str:
    import onnxruntime
    return onnxruntime.__version__


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    return value


__all__ = ["int8_export", "quantize", "CALIBRATION_SAMPLES"]
