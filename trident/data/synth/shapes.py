"""The registry of shapes: a shape is `(rng) -> Case`; adding one is one function and one line here.
"""
from __future__ import annotations

import random
from typing import Callable

from trident.data.synth.builder import Case
from trident.data.synth.shapes_numbers import (shape_clamp, shape_double_math, shape_int_binary, shape_int_unary,
                                               shape_number_theory)
from trident.data.synth.shapes_text import (shape_int_predicate, shape_string_measure, shape_string_predicate,
                                            shape_string_transform)
from trident.data.synth.shapes_collections import (shape_list_aggregate, shape_list_find, shape_list_query,
                                                   shape_list_transform, shape_map_build, shape_map_lookup)
from trident.data.synth.shapes_validation import shape_validation
from trident.data.synth.shapes_objects import shape_accessor, shape_cached, shape_fluent, shape_int_array


# --------------------------------------------------------------------------- registry

SHAPES: dict[str, Callable[[random.Random], Case]] = {
    "int_binary": shape_int_binary,
    "int_unary": shape_int_unary,
    "number_theory": shape_number_theory,
    "clamp": shape_clamp,
    "double_math": shape_double_math,
    "string_transform": shape_string_transform,
    "string_measure": shape_string_measure,
    "int_predicate": shape_int_predicate,
    "string_predicate": shape_string_predicate,
    "list_aggregate": shape_list_aggregate,
    "list_transform": shape_list_transform,
    "list_query": shape_list_query,
    "map_build": shape_map_build,
    "map_lookup": shape_map_lookup,
    "list_find": shape_list_find,
    "validation": shape_validation,
    "int_array": shape_int_array,
    "accessor": shape_accessor,
    "fluent": shape_fluent,
    "cached": shape_cached,
}
