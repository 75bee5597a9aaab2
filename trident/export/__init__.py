"""Export of a trained model for CPU deployment: int8 (dynamic quantization of the Linear layers)
and ONNX (encoder and decoder graphs run by ONNX Runtime), each folder described by export.json.

    manifest.py   export.json: what an export folder holds, read and written only here
    int8.py       the int8 format: quantize, save, rebuild
    onnx.py       the ONNX format: the two graphs, written by torch.onnx
    onnx_model.py the ONNX graphs behind transformers' `generate` (beam search, scores)
    loading.py    is_exported / load_exported: any export folder → (model, tokenizer)
    run.py        `trident export`: a finished run → export folders
    parity.py     an export against its float model: agreement, ΔF1, latency at batch 1
"""
