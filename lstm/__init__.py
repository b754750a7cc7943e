"""lstm: the LSTM cells of three texts, built from tinygraph's primitive ops, drawn in
the texts' styles, stepped through, and checked against a paper's closed-form deltas.

Only tinygraph's public API is used here (imports go lstm -> tinygraph, never back).
"""
from .cells import GRU, VARIANTS, BlogLSTM, PaperLSTM, PeepholeLSTM, Stacked, VanillaRNN, make_cell
from .array_gradients import gradients

__all__ = ["GRU", "VARIANTS", "BlogLSTM", "PaperLSTM", "PeepholeLSTM", "Stacked", "VanillaRNN", "gradients",
           "make_cell"]
