"""The built-in model presets: T5 shapes a run builds with random init, named in model.student /
model.teacher instead of a folder or hub name.

Kept apart from trident.models (which imports transformers) so that a command can check the
model names of its config before it pays for importing the libraries that load them.
"""
from __future__ import annotations

# Tiny presets train without dropout: on a few thousand synthetic records and a few hundred
# steps, dropout 0.1 roughly halves how far the loss falls (measured), and the smoke run
# must show learning in minutes. The shape presets keep CodeT5+'s 0.1.
PRESETS: dict[str, dict] = {
    "tiny-teacher": dict(d_model=128, d_ff=512, d_kv=32, num_heads=4, num_layers=3, num_decoder_layers=3,
                         dropout_rate=0.0),
    # 3.7:1 in parameters with tiny-teacher at the default 2,048-token vocabulary (1.64M : 0.44M),
    # near CodeT5+'s 770M : 220M
    "tiny-student": dict(d_model=72, d_ff=288, d_kv=18, num_heads=4, num_layers=2, num_decoder_layers=2,
                         dropout_rate=0.0),
    "codet5p-220m-shape": dict(d_model=768, d_ff=3072, d_kv=64, num_heads=12, num_layers=12,
                               num_decoder_layers=12, vocab_size=32100, dropout_rate=0.1),
    "codet5p-770m-shape": dict(d_model=1024, d_ff=4096, d_kv=64, num_heads=16, num_layers=24,
                               num_decoder_layers=24, vocab_size=32100, dropout_rate=0.1),
}


def is_preset(spec: str) -> bool:
    return spec in PRESETS
