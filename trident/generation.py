"""Generation for evaluation: decoding settings, decoding token ids, and the adapter that
turns the Trainer's generated ids into trident's metrics."""
from __future__ import annotations

from trident import metrics


def set_generation(model, eval_cfg) -> None:
    """Decoding settings for evaluation. For an encoder-decoder, max_length counts the decoder
    start token, so it is max_new_tokens + 1 (setting both makes transformers warn on every batch)."""
    model.generation_config.max_length = eval_cfg.max_new_tokens + 1
    model.generation_config.num_beams = eval_cfg.num_beams


class GenerationMetrics:
    """The Trainer's `compute_metrics` for generation: decoded predictions scored against the
    original assertions. It keeps the last pass's predictions, which fit saves with the run."""

    def __init__(self, tokenizer, references: list[list[str]]):
        self.tokenizer, self.references = tokenizer, references
        self.last_predictions: list[str] | None = None

    def __call__(self, eval_pred) -> dict[str, float]:
        preds = decode(self.tokenizer, eval_pred.predictions)
        if len(preds) > len(self.references) and _processes() > 1:
            # Several processes: the gathered predictions are the split in order, then the
            # repeats that evened out the last batches (accelerate does not always drop them).
            preds = preds[:len(self.references)]
        if len(preds) != len(self.references):
            raise ValueError(f"{len(preds)} predictions for {len(self.references)} references")
        self.last_predictions = preds
        return metrics.compute_all(preds, self.references)


def _processes() -> int:
    import torch.distributed as dist

    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def decode(tokenizer, token_ids) -> list[str]:
    ids = token_ids[0] if isinstance(token_ids, tuple) else token_ids
    ids = [[t for t in row if t >= 0] for row in ids.tolist()]  # -100 pads batches of different lengths
    return tokenizer.batch_decode(ids, skip_special_tokens=True)
