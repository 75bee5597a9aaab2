"""Fused token losses: focal, KL and generalized JSD over [batch, target_len, vocab] logits with
their gradients worked out by hand, in row chunks, over the real target positions only.

The autograd versions (trident.losses.token, `*_reference`) materialise several [B, L, V]
tensors (log-softmaxes, the mixture, their gradients) and walk them many times; here the rows
with a target (labels != -100) are taken `ROW_CHUNK` at a time, and for each chunk the value
and the gradient with respect to the student's logits are computed together, while the chunk
is still in cache. The gradient is written into one [B, L, V] buffer in the student's dtype
(zero on padded rows) and handed back, times the incoming gradient, by `backward`. So the extra
memory is that buffer plus a few [ROW_CHUNK, V] float temporaries, whatever B and L are.

Padded rows are never read: whatever they hold (inf, NaN) cannot reach the value or the
gradient. Half-precision logits are upcast to float32 chunk by chunk, as the references do.

Gradients (a = s / T the student's softened logits, S = softmax(a), P = softmax(teacher / T);
every value is multiplied by T² and averaged over the rows, so each row's gradient carries
T² / T / N = T / N):
- KL(P ‖ S):        ∂/∂a = S − P.
- JSD_β, M = βP + (1−β)S, J = β·KL(P‖M) + (1−β)·KL(S‖M) = βΣP log P + (1−β)ΣS log S − ΣM log M:
  ∂J/∂S_i = (1−β)(log S_i − log M_i), and through the softmax
  ∂J/∂a_j = (1−β)·S_j·(log S_j − log M_j − KL(S‖M)).
- focal f = α(1−p)^γ·(−log p), p = S_y (T = 1):
  ∂f/∂a_j = c·(S_j − δ_jy), c = α(1−p)^γ + α·γ·p·(−log p)·(1−p)^(γ−1).
- cached teacher (k + 1 buckets b_i = log Σ_{j∈i} S_j, loss L(b)): with g_i = ∂L/∂b_i and
  G = Σ_i g_i, ∂L/∂a_j = g_{i(j)}·S_j / exp(b_{i(j)}) − S_j·G; a top-k token is its own bucket
  (first term g_i), a tail token shares the tail bucket. On the buckets, KL gives g_i = −P_i
  and JSD g_i = (1−β)·S_i·(b_i − log M_i).
tests/test_fused_losses.py checks all of them against the references and by gradcheck.

The teacher is data here (it runs under no_grad in training); token.py sends a teacher that
requires grad to the reference instead.
"""
from __future__ import annotations

import math
from typing import Callable, Optional

import torch

# Rows per chunk (each loss takes a `chunk=` argument too): 32 rows of a 32,100-token vocabulary
# are 4 MB of float32 per temporary, so a chunk's few temporaries (4–6) stay near the caches and
# the memory the loss adds is the gradient buffer plus ~20 MB, whatever batch × length is.
# On one thread at the bench shape (batch 8 × length 64) 32 rows beat 64 and 128 (kl 1.28 / 1.32 /
# 2.02 × ce, jsd 1.66 / 1.93 / 2.66 × ce, an earlier version of these kernels); 8 rows was slower
# again (more, smaller ops).
ROW_CHUNK = 32

# the reference's floor for an empty bucket's log-probability (token.EMPTY_BUCKET_LOGP)
EMPTY_BUCKET_LOGP = -1e4

# A kernel computes one chunk: (s, sel, coef) -> (values [n], ∂(Σ coef·values)/∂s [n, V] or None).
# s is the chunk of student logits [n, V], upcast (a view into the caller's tensor when the rows
# are contiguous and already float: kernels never write into it); sel picks the same rows from
# the kernel's own [rows, V] tensors (a slice, or a LongTensor of flat row indices; see `take`);
# coef [n] (None when no gradient is wanted) is each row's weight in the loss.
RowKernel = Callable[[torch.Tensor, object, Optional[torch.Tensor]], tuple]


def upcast(logits: torch.Tensor) -> torch.Tensor:
    """Half-precision logits are softmaxed in float32; float64 stays float64."""
    return logits.float() if logits.dtype in (torch.float16, torch.bfloat16) else logits


def take(x: torch.Tensor, sel) -> torch.Tensor:
    """The rows `sel` of x: a view for a slice, a copy for an index tensor."""
    return x[sel] if isinstance(sel, slice) else x.index_select(0, sel)


def _rowdot_(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Σ_j a_ij·b_ij per row, overwriting a with the products (faster than a batched matmul here)."""
    return a.mul_(b).sum(-1)


def _soft_parts(x: torch.Tensor, temperature: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(d = (x − max)/T, e = exp(d), log Σe) of a chunk [n, V] (the last [n, 1]), d and e new
    tensors: log softmax(x/T) = d − log Σe, softmax(x/T) = e / Σe."""
    m = x.amax(-1, keepdim=True)
    d = torch.sub(x, m)
    if temperature != 1.0:
        d.mul_(1.0 / temperature)
    e = d.exp()
    return d, e, e.sum(-1, keepdim=True).log_()


def kl_kernel(teacher: torch.Tensor, temperature: float) -> RowKernel:
    """KL(teacher ‖ student) per row at `temperature` (unscaled), teacher [rows, V] flat."""
    def kernel(s: torch.Tensor, sel, coef: Optional[torch.Tensor]):
        dtype = torch.promote_types(s.dtype, upcast(teacher).dtype)
        s = s.to(dtype)
        d_s, e_s, logz_s = _soft_parts(s, temperature)
        d_t, e_t, logz_t = _soft_parts(take(teacher, sel).to(dtype), temperature)
        # Σ P·(log P − log S) with log P − log S = (d_t − d_s) − (log z_t − log z_s) and ΣP = 1
        values = _rowdot_(d_t.sub_(d_s), e_t) / logz_t.exp().view(-1) - (logz_t - logz_s).view(-1)
        if coef is None:
            return values, None
        c = coef.to(dtype).unsqueeze(1) / temperature  # ∂a/∂s = 1/T
        grad = e_s.mul_(c / logz_s.exp()).addcmul_(e_t, -c / logz_t.exp())  # (S − P)·coef/T
        return values, grad
    return kernel


def jsd_kernel(teacher: torch.Tensor, temperature: float, beta: float) -> RowKernel:
    """β·KL(T‖M) + (1−β)·KL(S‖M), M = βT + (1−β)S, per row at `temperature` (unscaled)."""
    def kernel(s: torch.Tensor, sel, coef: Optional[torch.Tensor]):
        dtype = torch.promote_types(s.dtype, upcast(teacher).dtype)
        s = s.to(dtype)
        d_s, e_s, logz_s = _soft_parts(s, temperature)
        d_t, e_t, logz_t = _soft_parts(take(teacher, sel).to(dtype), temperature)
        z_s, z_t = logz_s.exp(), logz_t.exp()
        # log M from the mixed probabilities: where both sides underflow M is 0, and clamping it
        # to the smallest normal number keeps those 0·log(·) terms 0 (they weigh nothing either way)
        log_m = torch.mul(e_t, beta / z_t).addcmul_(e_s, (1.0 - beta) / z_s)
        log_m.clamp_(min=torch.finfo(dtype).tiny).log_()
        # log S − log M = (d_s − log M) − log z_s: the row constant is applied to the row sums
        kl_t = _rowdot_(d_t.sub_(log_m), e_t) / z_t.view(-1) - logz_t.view(-1)
        prod = d_s.sub_(log_m).mul_(e_s)  # e_s·(d_s − log M)
        kl_s = prod.sum(-1) / z_s.view(-1) - logz_s.view(-1)
        values = beta * kl_t + (1.0 - beta) * kl_s
        if coef is None:
            return values, None
        # (1−β)·S·(log S − log M − KL(S‖M))·coef/T = (prod − e_s·(log z_s + KL(S‖M)))·r
        r = coef.to(dtype).unsqueeze(1) * ((1.0 - beta) / temperature) / z_s
        grad = prod.mul_(r).addcmul_(e_s, -(logz_s + kl_s.unsqueeze(1)) * r)
        return values, grad
    return kernel


def focal_kernel(labels: torch.Tensor, alpha: float, gamma: float) -> RowKernel:
    """α·(1 − p)^γ·(−log p) per row, p the student's probability of the row's label; labels [rows] flat."""
    def kernel(s: torch.Tensor, sel, coef: Optional[torch.Tensor]):
        d, e, logz = _soft_parts(s, 1.0)
        index = take(labels, sel).unsqueeze(1)
        nll = (logz - d.gather(1, index)).view(-1)
        p = torch.exp(-nll)
        q = 1.0 - p  # as the reference computes it
        values = alpha * q.pow(gamma) * nll
        if coef is None:
            return values, None
        # α·γ·p·nll·(1−p)^(γ−1) → 0 as p → 1 for any γ ≥ 0 (the autograd reference gives NaN there for γ < 1)
        inner = torch.where(q > 0, gamma * p * nll * q.pow(gamma - 1.0), torch.zeros_like(q)) if gamma != 0 else 0.0
        c = (alpha * q.pow(gamma) + alpha * inner) * coef.to(s.dtype)
        grad = e.mul_((c / logz.exp().view(-1)).unsqueeze(1))
        grad.scatter_add_(1, index, -c.unsqueeze(1))
        return values, grad
    return kernel


def bucket_kernel(buckets: torch.Tensor, ids: torch.Tensor, temperature: float, beta: Optional[float],
                  fallback: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> RowKernel:
    """KL (beta None) or JSD_β between the cached teacher's k + 1 bucket log-probabilities
    `buckets` [rows, k + 1] and the student's softened distribution collapsed onto them (its
    top-k tokens `ids` [rows, k], then its mass on every other token), per row, unscaled.

    Rows where the student's tail mass underflows (every token outside the top k more than
    ~87 nats below its maximum in float32) go to `fallback(student rows [n, V], rows)`, the
    reference's per-row values computed in log space, whose gradient is taken by autograd."""
    def kernel(s: torch.Tensor, sel, coef: Optional[torch.Tensor]):
        dtype = torch.promote_types(s.dtype, upcast(buckets).dtype)
        s = s.to(dtype)
        d, e, logz = _soft_parts(s, temperature)
        idx = take(ids, sel)
        top = d.gather(1, idx) - logz
        e.scatter_(1, idx, 0.0)  # e now holds the tail tokens only
        z_rest = e.sum(-1, keepdim=True)
        tiny = torch.finfo(dtype).tiny
        if idx.shape[1] >= s.shape[1]:  # the top k are the whole vocabulary: the tail is empty
            exact = torch.ones(len(idx), dtype=torch.bool, device=s.device)
            rest = torch.full_like(z_rest, EMPTY_BUCKET_LOGP)
        else:
            exact = z_rest.view(-1) >= tiny
            rest = torch.log(z_rest.clamp(min=tiny)) - logz
        sb = torch.cat([top, rest.clamp(min=EMPTY_BUCKET_LOGP)], 1)
        tb = take(buckets, sel).to(dtype)
        if beta is None:
            values = (tb.exp() * (tb - sb)).sum(-1)
        else:
            log_m = torch.logaddexp(tb + math.log(beta), sb + math.log1p(-beta))
            values = beta * (tb.exp() * (tb - log_m)).sum(-1) + (1.0 - beta) * (sb.exp() * (sb - log_m)).sum(-1)
        grad = None
        if coef is not None:
            c = coef.to(dtype).unsqueeze(1) / temperature
            g = -tb.exp() * c if beta is None else (1.0 - beta) * sb.exp() * (sb - log_m) * c  # ∂L/∂b
            big_g = g.sum(-1, keepdim=True)
            # tail tokens: S_j·(g_tail / S_tail − G), with S_j / S_tail = e_j / Σ_tail e
            grad = e.mul_(g[:, -1:] / z_rest.clamp(min=tiny) - big_g / logz.exp())
            grad.scatter_(1, idx, g[:, :-1] - top.exp() * big_g)
        if not bool(exact.all()):
            slow = (~exact).nonzero().view(-1)
            rows = torch.arange(sel.start, sel.stop, device=s.device) if isinstance(sel, slice) else sel
            with torch.enable_grad():
                leaf = s.index_select(0, slow).detach().requires_grad_(True)
                slow_values = fallback(leaf, rows.index_select(0, slow))
                if coef is not None:
                    (slow_grad,) = torch.autograd.grad((slow_values * coef.index_select(0, slow)).sum(), leaf)
                    grad.index_copy_(0, slow, slow_grad.to(dtype))
            values = values.index_copy(0, slow, slow_values.detach().to(values.dtype))
        return values, grad
    return kernel


class _RowLoss(torch.autograd.Function):
    """Σ_rows coef·value over the chosen rows, gradient computed in the forward pass."""

    @staticmethod
    def forward(ctx, student, rows, coef, kernel, chunk):
        flat = student.reshape(-1, student.shape[-1])
        want_grad = ctx.needs_input_grad[0]
        grad = None
        if want_grad:
            grad = torch.empty_like(student).view(-1, student.shape[-1])
            if rows.numel() < flat.shape[0]:  # zero the padded rows only
                skipped = torch.ones(flat.shape[0], dtype=torch.bool, device=flat.device)
                skipped[rows] = False
                grad.index_fill_(0, skipped.nonzero().view(-1), 0)
        total = torch.zeros((), dtype=coef.dtype, device=student.device)
        host = rows.tolist()  # one transfer: which chunks are runs of consecutive rows
        for start in range(0, len(host), chunk):
            stop = min(start + chunk, len(host))
            first, last = host[start], host[stop - 1]
            # padding sits at the end of each target, so the real rows are mostly runs: a run
            # is read as a view and its gradient written in place, with no gather or scatter
            sel = slice(first, last + 1) if last - first == stop - start - 1 else rows[start:stop]
            c = coef[start:stop]
            values, g = kernel(upcast(take(flat, sel)), sel, c if want_grad else None)
            total = total + (values.to(total.dtype) * c.to(total.dtype)).sum()
            if want_grad:
                if isinstance(sel, slice):
                    grad[sel] = g
                else:
                    grad.index_copy_(0, sel, g.to(grad.dtype))
        if want_grad:
            ctx.save_for_backward(grad.view_as(student))
        return total

    @staticmethod
    def backward(ctx, grad_output):
        (grad,) = ctx.saved_tensors
        # a loss used alone is backpropagated with 1: hand the buffer over without another pass
        if grad_output.device.type == "cpu" and float(grad_output) == 1.0:
            return grad, None, None, None, None
        return grad * grad_output.to(grad.dtype), None, None, None, None


def row_loss(student: torch.Tensor, labels: torch.Tensor, kernel: RowKernel, scale: float = 1.0,
             weights: Optional[torch.Tensor] = None, chunk: int = ROW_CHUNK,
             teacher: Optional[torch.Tensor] = None) -> torch.Tensor:
    """scale · (Σ w·value / Σ w) over the rows with a target (labels != -100), w = 1 without
    `weights` (then Σ w is the count, at least 1; with weights at least 1e-12, as masked_mean).
    The value's dtype is the upcast student's, promoted with the `teacher`'s when given."""
    if chunk < 1:
        raise ValueError(f"row chunk must be at least 1, not {chunk}")
    mask = (labels != -100).reshape(-1)
    rows = mask.nonzero().view(-1)
    dtype = upcast(student).dtype if teacher is None else torch.promote_types(upcast(student).dtype, upcast(teacher).dtype)
    if weights is None:
        w = torch.ones(rows.numel(), dtype=dtype, device=student.device)
        denominator = w.new_tensor(float(max(rows.numel(), 1)))
    else:
        w = weights.reshape(-1).index_select(0, rows).to(dtype)
        denominator = w.sum().clamp(min=1e-12)
    coef = w * (scale / denominator)
    return _RowLoss.apply(student, rows, coef, kernel, chunk)
