"""Smaller and faster models from trained runs.

- :mod:`~profond.compress.quantize`: int8, dynamic and static (``torch.ao``; ONNX Runtime's
  quantizer for the ONNX side), and the rebuild of a saved int8 model on load;
- :mod:`~profond.compress.prune`: magnitude pruning, unstructured or by channel, made permanent;
- :mod:`~profond.compress.distill`: a student trained on a teacher's softened outputs;
- :mod:`~profond.compress.report`: size, parameters, latency and accuracy side by side;
- :mod:`~profond.compress.variants`: ``profond compress``'s work, each variant a run linked to
  its parent;
- :mod:`~profond.compress.onnx_export`: ``profond export``.
"""
