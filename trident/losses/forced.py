"""A second teacher-forced decoder pass of the step, on other targets (the teacher's beam for
`seqkd`, the student's own samples for `gkd`), on the same sources.

The step's own forward has already encoded those sources, and at CodeT5+ lengths (256 source
tokens, 32 target) the encoder is most of a forward: its output is reused rather than computed
again. The values are the same (with dropout off; with dropout on, both passes see the main
pass's encoder dropout), and the gradient of the student's second pass reaches its encoder
through the reused output, once, in the step's one backward.
"""
from __future__ import annotations

from typing import Optional

import torch
from transformers.modeling_outputs import BaseModelOutput


def logits_on(model, model_inputs: dict, targets: torch.Tensor,
              encoded: Optional[torch.Tensor] = None) -> torch.Tensor:
    """`model`'s logits teacher-forced on `targets` ([n, len] token ids, -100 where padded) for
    the first n sources of `model_inputs`. `encoded` is that model's last encoder layer on the
    same sources ([batch, source_len, d_model]), from the step's forward; None encodes them."""
    n = targets.shape[0]
    mask = model_inputs["attention_mask"][:n]
    decoder_input_ids = model.prepare_decoder_input_ids_from_labels(labels=targets)
    if encoded is not None:
        return model(encoder_outputs=BaseModelOutput(last_hidden_state=encoded[:n]), attention_mask=mask,
                     decoder_input_ids=decoder_input_ids).logits
    return model(input_ids=model_inputs["input_ids"][:n], attention_mask=mask,
                 decoder_input_ids=decoder_input_ids).logits
