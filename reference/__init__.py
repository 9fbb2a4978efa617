"""Independent re-implementations of the official DAT v1, DAT++ and DilateFormer models, written from their
definitions, and of the operators they need that no installable library provides any more.

Not part of the ``mmattn`` package (never imported by it, not installed): the parity tests compare mmattn's
layers and backbones with these, and ``tools/analysis/benchmark.py --compare official`` measures mmattn against
them. One copy serves both, so a benchmark's "official" side is exactly what the tests prove mmattn equal to.

Each model is a functional forward over a state dict in the *official* key layout (mmattn's converters turn
it into mmattn weights), plus a generator of such state dicts with random values:

* :mod:`reference.dat`: DAT v1 (NCHW, 1x1 convolutions, einsum attention, grid-sampled bias over an
  explicit displacement tensor; Swin-style window attention).
* :mod:`reference.dilateformer`: DilateFormer (``nn.Unfold`` multi-scale dilated attention, global MHSA).
* :mod:`reference.datpp`: DAT++ as ``nn.Module`` classes with the official names (built, then randomised), its
  neighbourhood attention through :mod:`reference.natten`: NATTEN 0.14's functional API written naively
  (explicit window indices), also the reference of mmattn's neighbourhood-attention operator.
"""
