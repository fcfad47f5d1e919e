"""The Ultralytics network inside a YOLO model: the architecture allowlist, building, weight loading.

:mod:`.architecture` validates a ``model.yaml`` dict, :mod:`.building` builds the network from it,
:mod:`.safetensors_map` and :mod:`.loading` read ``model.safetensors`` into it, :mod:`.heads` runs its head,
:mod:`.inference_twin` keeps the fused copy inference runs on.
"""
