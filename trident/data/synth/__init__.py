"""Synthetic focal-method / masked-test records, so the whole pipeline runs without a mined corpus.

Each record pairs a Java production method with a JUnit 5 test whose assertion statements are
replaced by `<AssertPlaceHolder>;`; the model learns to write them back. Expected values in the
assertions are computed here, in Python, from the method's semantics, so a correct model is one
that reasons about the code rather than one that copies a plausible-looking number.

A "shape" is a function `(rng) -> Case` producing one focal method and its test. Adding a shape is
one function plus one line in `shapes.SHAPES`. Everything draws from the `random.Random` it is
handed, so a seed fixes the data exactly.

The package follows the corpus' own parts: `literals` (Java literal syntax), `vocabulary` (word
pools and shared random choices), `builder` (Case and TestBuilder), the `shapes_*` modules (one
per family of focal methods), `shapes` (the registry) and `writer` (records and split files).
"""
from trident.data.synth.builder import Case
from trident.data.synth.literals import INDENT, PLACEHOLDER, jchar, jdouble, jlist, jstr
from trident.data.synth.shapes import SHAPES
from trident.data.synth.vocabulary import NON_ASCII_WORDS
from trident.data.synth.writer import (SPLITS, generate_labelled, generate_records, make_record, render_test,
                                       split_sizes, unmask, write_splits)

__all__ = ["Case", "INDENT", "NON_ASCII_WORDS", "PLACEHOLDER", "SHAPES", "SPLITS", "generate_labelled",
           "generate_records", "jchar", "jdouble", "jlist", "jstr", "make_record", "render_test", "split_sizes",
           "unmask", "write_splits"]
