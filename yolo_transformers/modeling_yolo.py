"""YOLO models as transformers ``PreTrainedModel``s, built from Ultralytics' own model classes.

The Ultralytics network lives at ``self.model`` so every state-dict key is ``"model." + <Ultralytics key>``.
"""

from __future__ import annotations

import copy
import logging
import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from transformers import PreTrainedModel
from transformers import initialization as init
from transformers.utils import ModelOutput

from .network.heads import normalized_boxes, run_anchor_head
from .network.ultralytics_rows import ultralytics_rows
from .compat import configure_head, fuse_quietly
from .network.architecture import build_network
from .network.checkpointing import checkpointed_call
from .network.twin_cache import TwinCache, state_key, state_tensors
from .processing.batching import plain, size_groups
from .network.bias_priors import BIAS_PRIOR, attach_bias_priors
from .configuration_yolo import YoloConfig
from .errors import TaskMismatchError
from .loss.yolo_loss import task_loss, training_predictions
from .modeling_loading import StrictLoadingMixin

__all__ = ["YoloPreTrainedModel", "YoloForObjectDetection", "YoloObjectDetectionOutput"]

logger = logging.getLogger(__name__)


def _predictor_uses_channels_last(device: torch.device) -> bool:
    """Whether Ultralytics' predictor (``AutoBackend``) would run a PyTorch model channels-last on ``device``."""
    import platform
    import sys

    return (
        device.type == "cpu"
        and platform.machine() in {"AMD64", "x86_64"}
        and torch.backends.mkldnn.is_available()
        and torch.backends.mkldnn.enabled
        and sys.platform in {"linux", "win32"}
    )


@dataclass
class YoloObjectDetectionOutput(ModelOutput):
    r"""Output of :class:`YoloForObjectDetection`.

    Args:
        loss (`torch.Tensor` of shape `()`, *optional*):
            Total training loss, returned when ``labels`` are given.
        loss_dict (`dict[str, torch.Tensor]`, *optional*):
            The loss components (``box``, ``cls``, ``dfl``), returned with ``loss``.
        logits (`torch.Tensor` of shape `(batch_size, num_anchors, num_labels)`):
            Raw class logits (before the sigmoid) for every anchor point. ``num_anchors`` is the number of grid
            cells over all head levels, e.g. 8400 for a 640×640 input with strides 8/16/32. For end-to-end heads
            (YOLOv10, YOLO26 with ``config.end_to_end``) these are the one-to-one branch's logits.
        pred_boxes (`torch.Tensor` of shape `(batch_size, num_anchors, 4)`):
            Boxes as ``(center_x, center_y, width, height)`` normalized to ``[0, 1]`` by the network input width and
            height (the letterboxed ``pixel_values``, padding included). Use
            :meth:`YoloImageProcessor.post_process_object_detection` for absolute ``xyxy`` boxes in the original image.
        hidden_states (`tuple[torch.Tensor]`, *optional*):
            Feature maps entering the head, one per level, each `(batch_size, channels, height, width)`; returned
            with ``output_hidden_states=True``.

    For a batch of images of different letterbox shapes (a pipeline's batch; every task's output does the same),
    each image runs at its own input and the outputs are padded: ``num_anchors`` is the largest image's, padded
    anchors have ``logits`` of ``-inf``, and two keys are added: ``input_size`` `(batch_size, 2)` int64, each image's
    own network input (height, width) in pixels, and ``padded_input_size`` `(batch_size, 2)`, the padded shape that
    dense outputs (mask prototypes, semantic logits, depth, hidden states) are laid out for, padding at the bottom
    and right. See :mod:`yolo_transformers.processing.batching`.
    """

    loss: torch.Tensor | None = None
    loss_dict: dict | None = None
    logits: torch.Tensor | None = None
    pred_boxes: torch.Tensor | None = None
    hidden_states: tuple[torch.Tensor, ...] | None = None


class YoloPreTrainedModel(StrictLoadingMixin, PreTrainedModel):
    """Base class of YOLO models: holds the Ultralytics network in ``self.model``; ``from_pretrained`` is
    :class:`~yolo_transformers.modeling_loading.StrictLoadingMixin`'s."""

    config_class = YoloConfig
    config: YoloConfig
    base_model_prefix = "yolo"
    main_input_name = "pixel_values"
    input_modalities = ("image",)
    #: ``gradient_checkpointing_enable()`` recomputes every backbone/neck layer in the backward pass (not the head).
    supports_gradient_checkpointing = True
    #: Ultralytics task this class serves; checked against ``config.task``.
    task: str = ""
    output_class: type[ModelOutput] = ModelOutput  #: what ``forward`` (and the ONNX/OpenVINO model) returns

    def __init__(self, config: YoloConfig) -> None:
        super().__init__(config)
        if config.architecture is None:
            raise TaskMismatchError(
                f"{type(self).__name__} needs a YoloConfig with an architecture; create it with "
                "`python -m yolo_transformers.convert best.pt --output DIR` or YoloConfig(architecture=...)."
            )
        if self.task and config.task != self.task:
            raise TaskMismatchError(
                f"config.task={config.task!r} but {type(self).__name__} serves task {self.task!r}; load it with the "
                f"class for {config.task!r} (or the Auto class)."
            )
        self.model = build_network(config.architecture, config.task, config.stride, config.num_channels)
        attach_bias_priors(self.model.model[-1])
        self.gradient_checkpointing = False  # set by transformers' gradient_checkpointing_enable()
        self.post_init()

    # ------------------------------------------------------------------ initialisation
    def _init_weights(self, module: nn.Module) -> None:
        """Initialise like Ultralytics: PyTorch's defaults for layers, Ultralytics' BatchNorm state, and the prior
        biases of the detection heads' output convolutions (see :mod:`yolo_transformers.network.bias_priors`).

        transformers calls this for modules whose weights were not loaded: every module of a randomly initialised
        model, and the re-sized class layers of ``from_pretrained(..., ignore_mismatched_sizes=True)``.
        """
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            if getattr(module, "weight", None) is not None:
                init.kaiming_uniform_(module.weight, a=math.sqrt(5))
                if module.bias is not None:
                    fan_in = module.weight.shape[1] * math.prod(module.weight.shape[2:])
                    bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
                    init.uniform_(module.bias, -bound, bound)
                    prior = getattr(module, BIAS_PRIOR, None)
                    if prior is not None:
                        init.constant_(module.bias, prior)
        elif isinstance(module, nn.BatchNorm2d):
            init.ones_(module.weight)
            init.zeros_(module.bias)
            init.zeros_(module.running_mean)
            init.ones_(module.running_var)
            init.zeros_(module.num_batches_tracked)

    # ------------------------------------------------------------------ export, the Hub (from_pretrained: modeling_loading)
    def export(self, output_dir, format: str = "onnx", **kwargs):
        """Write a verified ONNX graph (``onnx/model.onnx``, opset 17) or OpenVINO IR (``openvino/model.xml``) to
        ``output_dir`` beside config, weights and processor (``kwargs``: see :func:`~yolo_transformers.runtime.export.
        export_model`, which raises ``ExportParityError`` before writing a graph that predicts differently). Load it
        back with ``from_pretrained(output_dir, runtime=format)``."""
        from .runtime.export import export_model

        return export_model(self, output_dir, format, **kwargs)

    def push_to_hub(
        self,
        repo_id: str,
        *,
        commit_message: str | None = None,
        commit_description: str | None = None,
        private: bool | None = None,
        token: bool | str | None = None,
        revision: str | None = None,
        create_pr: bool = False,
        tags: list[str] | None = None,
        tag: str | None = None,
        overwrite_card: bool = False,
        **kwargs,
    ) -> str:
        """Push to the Hub exactly like :func:`yolo_transformers.hub.upload_model` (one commit, with model card).

        Args:
            repo_id: ``namespace/name`` (created if missing).
            commit_message: Commit title (default names the model, classes, metrics and source).
            commit_description: Commit description (default: provenance).
            private: Create the repo as private.
            token: Token with write scope; ``None``/``True``: ``HF_TOKEN``, then the ``hf auth login`` store.
            revision: Branch to push to, created from ``main`` if missing.
            create_pr: Open a pull request instead.
            tags: Extra tags for the model card.
            tag: Git tag to create on the new commit (e.g. ``v1.0``).
            overwrite_card: Replace a README.md already on the Hub.
            **kwargs: transformers' serialization options (e.g. ``max_shard_size``), ignored: one safetensors file.

        Returns:
            The URL of the repo (at ``revision``) or of the pull request.
        """
        from .hub.commit import publish_model
        from .hub.staging import stage_model_object

        if kwargs:
            logger.debug("push_to_hub ignores %s", sorted(kwargs))
        return publish_model(
            lambda scratch: stage_model_object(self, scratch), repo_id, token=token if isinstance(token, str) else None, private=bool(private),
            revision=revision, tag=tag, commit_message=commit_message, commit_description=commit_description,
            create_pr=create_pr, overwrite_card=overwrite_card, card_tags=tags,
        ).url  # fmt: skip

    # ------------------------------------------------------------------ helpers
    @property
    def network(self) -> nn.Module:
        """The underlying Ultralytics model (``DetectionModel``, ``PoseModel``, ...)."""
        return self.model

    #: Run inference (eval mode, no grad) through a Conv+BatchNorm-fused twin of the network, as Ultralytics'
    #: predictor does. The model's own parameters are never modified, so it can still be saved or trained.
    fuse_for_inference: bool = True

    def _inference_network(self) -> nn.Module:
        """The network to run: a cached fused twin in eval/no-grad mode, else ``self.model`` itself.

        The twin is rebuilt whenever a parameter or buffer changes (tracked by tensor version counters, so BatchNorm
        statistics edited in place count), or the device or dtype changes, so it never serves stale weights. A training or grad-enabled forward drops it: what follows
        may change the weights without bumping version counters (fused optimizers such as ``Trainer``'s default
        ``adamw_torch_fused``) or update BatchNorm statistics.
        """
        if self.training or torch.is_grad_enabled() or not self.fuse_for_inference:
            self.__dict__.pop("_fused_twin", None)
            return self.model
        parameters = state_tensors(self.model)
        key = state_key(parameters)
        cached = self.__dict__.get("_fused_twin")
        if cached is None or cached.key != key:
            twin = fuse_quietly(copy.deepcopy(self.model).eval().float())  # fuse in float32, then the model's dtype
            twin = twin.to(parameters[0].dtype)
            for module in twin.modules():  # as Ultralytics' load_checkpoint does: in-place activations are faster
                if hasattr(module, "inplace"):
                    module.inplace = True
            if _predictor_uses_channels_last(parameters[0].device):
                # Ultralytics' predictor runs channels-last on x86 CPUs: faster, and oneDNN then rounds exactly as
                # in YOLO.predict, so even near-tied scores rank the same.
                twin = twin.to(memory_format=torch.channels_last)
            configure_head(twin.model[-1], end_to_end=bool(self.config.end_to_end) if self.task else None)
            cached = TwinCache(key, twin)
            object.__setattr__(self, "_fused_twin", cached)  # a plain attribute: not a submodule, not saved
        return cached.network

    def _head_inputs(self, pixel_values: torch.Tensor, network: nn.Module | None = None) -> list[torch.Tensor]:
        """Run every layer but the head, as Ultralytics' ``_predict_once`` does.

        Args:
            pixel_values: `(batch_size, channels, height, width)` in ``[0, 1]``.
            network: The Ultralytics network to run (default ``self.model``).

        Returns:
            The feature maps the head reads, one per head input, each `(batch_size, C_i, H_i, W_i)`.
        """
        network = self.model if network is None else network
        layers = network.model
        checkpointing = self.gradient_checkpointing and self.training and torch.is_grad_enabled()
        saved: list[torch.Tensor | None] = []
        x = pixel_values
        for layer in layers[:-1]:
            if layer.f != -1:
                x = saved[layer.f] if isinstance(layer.f, int) else [x if j == -1 else saved[j] for j in layer.f]
            x = checkpointed_call(self._gradient_checkpointing_func, layer, x) if checkpointing else layer(x)
            saved.append(x if layer.i in network.save else None)
        head = layers[-1]
        sources = [head.f] if isinstance(head.f, int) else head.f
        return [x if j == -1 else saved[j] for j in sources]

    def _run_network(self, pixel_values: torch.Tensor) -> tuple[nn.Module, torch.Tensor, list[torch.Tensor]]:
        """The start of every task's forward: cast the input, pick the network, run every layer but the head.

        Returns:
            ``(network, pixel_values, features)``: the network run (the fused twin at inference), the input on the
            model's device and dtype, and the feature maps entering the head.
        """
        if pixel_values.ndim != 4:
            raise ValueError(
                f"pixel_values must be (batch_size, channels, height, width), got shape {tuple(pixel_values.shape)}; "
                "prepare images with the model's image processor."
            )
        pixel_values = self._as_input(plain(pixel_values))  # a processor's marked tensor: plain into the network
        network = self._inference_network()
        # The memory layout the network runs in (the processor's tensors are channels-last views): converting here
        # once is cheaper than inside the first convolution, and keeps NCHW for training as Ultralytics does.
        channels_last = network is not self.model and _predictor_uses_channels_last(pixel_values.device)
        pixel_values = pixel_values.contiguous(memory_format=torch.channels_last if channels_last else
                                               torch.contiguous_format)
        features = self._head_inputs(pixel_values, network)
        return network, pixel_values, features

    def _finish(self, output: ModelOutput, features: list[torch.Tensor], output_hidden_states: bool | None,
                return_dict: bool | None) -> ModelOutput | tuple:
        """The end of every task's forward: attach the head's input features on request, dict or tuple."""
        if self.config.output_hidden_states if output_hidden_states is None else output_hidden_states:
            output["hidden_states"] = tuple(features)
        return output if (self.config.return_dict if return_dict is None else return_dict) else output.to_tuple()

    def _forward_per_shape(
        self, pixel_values: torch.Tensor, labels: Any, output_hidden_states: bool | None, return_dict: bool | None
    ) -> ModelOutput | tuple | None:
        """The forward of a batch of mixed letterbox shapes, None for any other batch.

        The forward runs once per shape on ``size_groups(pixel_values, labels).inputs`` (one network call per shape,
        so every image gets exactly the input it gets alone) and the outputs are padded into one batch, with
        ``input_size`` and ``padded_input_size`` `(B, 2)` added (see :mod:`yolo_transformers.processing.batching`).
        """
        groups = size_groups(pixel_values, labels)
        if groups is None:
            return None
        outputs = [self.forward(x, output_hidden_states=output_hidden_states, return_dict=True) for x in groups.inputs]
        output = groups.merge(outputs)
        return output if (self.config.return_dict if return_dict is None else return_dict) else output.to_tuple()

    def _as_input(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """Move ``pixel_values`` to the model's device and dtype."""
        return pixel_values.to(device=self.device, dtype=self.dtype)


class YoloForObjectDetection(YoloPreTrainedModel):
    """YOLO object detector (YOLOv3u/v5u/v8/v9/v10/11/12/26) as a transformers model.

    Example:
        >>> from yolo_transformers import YoloForObjectDetection, YoloImageProcessor
        >>> model = YoloForObjectDetection.from_pretrained("path/to/converted")
        >>> processor = YoloImageProcessor.from_pretrained("path/to/converted")
        >>> inputs = processor(images=image, return_tensors="pt")
        >>> outputs = model(**inputs)
        >>> detections = processor.post_process_object_detection(outputs, 0.25, [image.size[::-1]])
    """

    task = "detect"
    output_class = YoloObjectDetectionOutput

    def __init__(self, config: YoloConfig) -> None:
        super().__init__(config)
        configure_head(self.model.model[-1], end_to_end=config.end_to_end)

    def forward(
        self,
        pixel_values: torch.Tensor,
        labels: list[dict[str, torch.Tensor]] | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> YoloObjectDetectionOutput | tuple:
        r"""Detect objects.

        Args:
            pixel_values: `(batch_size, 3, height, width)` RGB in ``[0, 1]``, letterboxed by
                :class:`YoloImageProcessor`; height and width must be multiples of the largest stride.
            labels: Training targets, one dict per image with ``class_labels`` `(num_boxes,)` and ``boxes``
                `(num_boxes, 4)` normalized ``(cx, cy, w, h)``.
            output_hidden_states: Also return the feature maps entering the head.
            return_dict: Return a :class:`YoloObjectDetectionOutput` (default) instead of a tuple.

        Returns:
            :class:`YoloObjectDetectionOutput`.
        """
        if (merged := self._forward_per_shape(pixel_values, labels, output_hidden_states, return_dict)) is not None:
            return merged  # mixed letterbox shapes: one network call per shape
        network, pixel_values, features = self._run_network(pixel_values)
        loss = loss_dict = trained = None
        if labels is not None:
            trained = training_predictions(self, features)
            loss, loss_dict = task_loss(self, features, labels, pixel_values, predictions=trained)
        # With labels the head already ran for the loss: decode those outputs rather than run it twice (the fused
        # twin's head is another module, so evaluation with labels runs it).
        heads = run_anchor_head(network.model[-1], features, trained if network is self.model else None)
        output = YoloObjectDetectionOutput(
            loss=loss,
            loss_dict=loss_dict,
            logits=heads.raw["scores"].transpose(1, 2),
            pred_boxes=normalized_boxes(pixel_values, heads),
        )
        return self._finish(output, features, output_hidden_states, return_dict)

    def ultralytics_outputs(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """The head's inference tensor exactly as Ultralytics returns it (used to prove conversion parity).

        Returns:
            `(batch_size, 4 + num_labels, num_anchors)` boxes (xywh pixels, or xyxy when end-to-end) and sigmoid
            class scores.
        """
        pixel_values = plain(pixel_values)  # a processor's marked tensor: plain into the head's helpers
        end_to_end = bool(self.model.model[-1].end2end)
        return ultralytics_rows("detect", pixel_values, self.forward(pixel_values), end_to_end)
